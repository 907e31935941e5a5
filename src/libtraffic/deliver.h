/*
 * deliver.h: what is due after the answer: the AmoCRM API completes and
 * confirms new sales (enrich.h), then their messages go to Telegram
 * (notify.h).
 *
 * The one policy for both callers: the traffic-ctl deliver sidecar, for
 * everything due, woken by the workers (wake.h); and traffic-ctl resend
 * for one sale.  A request worker does no network work after its answer.
 * Without Telegram configured a worker's new sale's message is only
 * logged, so a test deal still shows what would be sent.
 */
#ifndef TR_DELIVER_H
#define TR_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "enrich.h"
#include "err.h"
#include "log.h"
#include "notify.h"

struct tr_config;
struct tr_rules;
struct tr_store;

#define TR_DELIVER_ROUND 100 /* sales and messages per sidecar round */

struct tr_deliver {
    struct tr_notify notify;
    struct tr_enrich enrich;
    struct tr_log log;
};

/* What is due: NULL leads for everything (the sidecar). */
struct tr_due {
    const int64_t *leads; /* a worker's new sales */
    size_t nleads;
    struct tr_claims *claims; /* their messages their statement claimed */
    int changed;              /* some are stored sales that changed: their
                               * edits and replies are claimed too */
};

/* Fills d (cfg, rules and store kept, not owned).  TR_ENOMEM. */
enum tr_err tr_deliver_init(struct tr_deliver *d, const struct tr_config *cfg,
                            const struct tr_rules *rules,
                            struct tr_store *store, const struct tr_log *log);

/* Frees what d owns. */
void tr_deliver_release(struct tr_deliver *d);

/*
 * Enriches, then sends, what due names, adding message outcomes to st; the
 * claims are released.  A worker's enrichment that fails is logged and its
 * messages still go; the sidecar stops its round at the first failure.
 * TR_EDB / TR_EDBDOWN with msg.
 */
enum tr_err tr_deliver_run(struct tr_deliver *d, const struct tr_due *due,
                           struct tr_notify_stats *st, char *msg, size_t msgsz);

/* Without Telegram: the messages due's new sales would get go to the log
 * (the client hidden unless TRAFFIC_DEBUG is set), no network used. */
void tr_deliver_log_messages(struct tr_deliver *d, const struct tr_due *due);

#endif
