/*
 * amorate.h: the AmoCRM API's request rate, shared by the whole pool, the
 * sidecar and reconciliation across every host: AmoCRM allows 7 requests
 * a second per integration and blocks the IP beyond that.  Each request
 * first takes a slot in PostgreSQL (traffic_amocrm_take, sql/007).
 */
#ifndef TR_AMORATE_H
#define TR_AMORATE_H

#include <stddef.h>

#include "err.h"

struct tr_store;

/*
 * Takes a slot of rate requests a second, when one comes within max_wait
 * seconds, and sleeps until it: 1, the request may go.  0 when the next
 * slot is further away (nothing was taken).  -1 with msg when the
 * database failed.
 */
int tr_amorate_take(struct tr_store *store, long rate, double max_wait,
                    char *msg, size_t msgsz);

#endif
