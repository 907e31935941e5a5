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

#include "outgoing/enrich.h"
#include "base/err.h"
#include "base/log.h"
#include "outgoing/notify.h"

struct tr_config;
struct tr_rules;
struct tr_store;

#define TR_DELIVER_ROUND 100 /* sales and messages per sidecar round */

struct tr_deliver {
    struct tr_notify notify;
    struct tr_enrich enrich;
    struct tr_log log;
};

/* Fills d (cfg, rules and store kept, not owned).  TR_ENOMEM. */
enum tr_err tr_deliver_init(struct tr_deliver *d, const struct tr_config *cfg,
                            const struct tr_rules *rules,
                            struct tr_store *store, const struct tr_log *log);

/* Frees what d owns. */
void tr_deliver_release(struct tr_deliver *d);

/*
 * One sidecar round: enriches up to TR_DELIVER_ROUND sales, then sends what
 * is due, adding message outcomes to st; stops at the first failure.
 * TR_EDB / TR_EDBDOWN with msg.
 */
enum tr_err tr_deliver_run(struct tr_deliver *d, struct tr_notify_stats *st,
                           char *msg, size_t msgsz);

/* Without Telegram: the messages the n new sales leads would get go to the
 * log (the client hidden unless TRAFFIC_DEBUG is set), no network used. */
void tr_deliver_log_messages(struct tr_deliver *d, const int64_t *leads,
                             size_t n);

#endif
