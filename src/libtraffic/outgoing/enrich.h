/*
 * enrich.h: completing and confirming new sales through the AmoCRM API,
 * after AmoCRM has its answer and before the message is sent.
 *
 * A sale stored with enrich_status 'pending' (sql/003) is claimed with a
 * lease (SKIP LOCKED, so one process asks for it), its lead and main
 * contact are fetched, and what the webhook lacked (price, name, UTM,
 * responsible user, the client's name, phone and e-mail) is written to both
 * sale tables in one statement, with the targetologist matched again on the
 * merged UTM.  A lead the API places elsewhere (another pipeline or
 * status, or deleted) is 'unconfirmed' and its messages are never sent
 * (unless AMOCRM_CONFIRM=0).  401/403 and transient failures are retried
 * with backoff until AMOCRM_MAX_WAIT_S after the sale, then the message
 * goes out with the webhook's data ('failed', not enriched).  Every request
 * first takes a slot (amorate.h), so the whole pool and the
 * sidecar together stay under AMOCRM_RATE requests a second.
 */
#ifndef TR_ENRICH_H
#define TR_ENRICH_H

#include <stddef.h>

#include "outgoing/amocrm.h"
#include "base/err.h"
#include "base/log.h"

struct tr_config;
struct tr_rules;
struct tr_store;

struct tr_enrich {
    const struct tr_config *cfg;
    const struct tr_rules *rules;
    struct tr_store *store;
    struct tr_amocrm amo;
    int enabled; /* a token and a base URL */
    struct tr_log log;
};

/* Fills e (cfg, rules, store kept, not owned); log may be NULL. */
enum tr_err tr_enrich_init(struct tr_enrich *e, const struct tr_config *cfg,
                           const struct tr_rules *rules, struct tr_store *store,
                           const struct tr_log *log);

void tr_enrich_release(struct tr_enrich *e);

/*
 * Enriches up to max due sales.  A process that must not wait long (a
 * worker) passes max_slot_wait: when its request slot is further away than
 * that many seconds, the sale is left for later.  TR_EDB / TR_EDBDOWN.
 */
enum tr_err tr_enrich_run(struct tr_enrich *e, size_t max, double max_slot_wait,
                          char *msg, size_t msgsz);

#endif
