/*
 * amorate.h: the AmoCRM API's request rate, shared by the whole pool, the
 * sidecar and reconciliation across every host: AmoCRM allows 7 requests
 * a second per integration and blocks the IP beyond that.  Each request
 * first takes a slot in PostgreSQL (sql/functions/traffic_amocrm_take.sql).
 */
#ifndef TR_AMORATE_H
#define TR_AMORATE_H

#include <stddef.h>

#include "outgoing/amocrm.h"
#include "base/err.h"
#include "base/log.h"

struct tr_store;

/*
 * Takes a slot of rate requests a second, when one comes within max_wait
 * seconds, and sleeps until it: 1, the request may go.  0 when the next
 * slot is further away (nothing was taken).  -1 with msg when the
 * database failed.
 */
int tr_amorate_take(struct tr_store *store, long rate, double max_wait,
                    char *msg, size_t msgsz);

/*
 * One page of tr_amocrm_list_leads for a batch job: after its slot (waiting
 * up to a minute for one), a 429, 5xx or unreadable answer tried again up
 * to three times, after AmoCRM's Retry-After (at most 30 s) or 1 s, then
 * 2 s; each retry said in log (may be NULL).  TR_ENET when the API did not
 * answer (msg says why), TR_EDB when the database failed; out is filled on
 * TR_OK and released otherwise.
 */
enum tr_err tr_amorate_list_leads(struct tr_amocrm *amo, struct tr_store *store,
                                  long rate, const char *query, int page,
                                  struct tr_amo_leads *out,
                                  const struct tr_log *log, char *msg,
                                  size_t msgsz);

#endif
