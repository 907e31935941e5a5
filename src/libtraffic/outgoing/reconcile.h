/*
 * reconcile.h: the stored sales held against what the AmoCRM API says, so
 * the dashboard equals AmoCRM's truth within one reconciliation whatever
 * webhooks AmoCRM lost (a status hook that never came, retries it gave up,
 * a hook it disabled).
 *
 *   1. The won leads (configured pipeline and status) the API changed since
 *      the window's start, page by page: a lead not stored becomes a sale
 *      as a webhook would have made it (event 'reconcile' in webhook_logs,
 *      its message sent); a stored one follows it (a new price, restored).
 *   2. The stored sales of the window not seen in 1, asked for by id, 250
 *      a request, every page: a lead the API returns in another status or
 *      pipeline, or deleted, is planned for reversal; one it leaves out is
 *      looked up in the events API, and only its deletion there (the newest
 *      of its deletions and restorations) plans a reversal.  Absence, a
 *      204, a lead without status: "unverified", nothing changes.
 *      The plan is carried out once every answer is read, unless it would
 *      reverse more than a tenth of the window's won sales (and more than
 *      three): then none, "held", for an operator (--force).
 *   3. GET /api/v4/webhooks: whether a subscription posts to this service
 *      (WEBHOOK_PUBLIC_URL, else a destination ending in
 *      /webhook/amocrm/traffic or /webhook/amocrm) and is enabled.
 *
 * Changes go through the webhook's own statements (sale.h) with source
 * 'reconcile', so a second run changes nothing.  One host at a time runs
 * it (an advisory lock); every request takes a slot of the pool's rate
 * (amorate.h) and 429/5xx are retried (after Retry-After, up to 30 s).  A
 * dry run rolls each change back and records nothing.
 */
#ifndef TR_RECONCILE_H
#define TR_RECONCILE_H

#include <stddef.h>

#include "outgoing/amocrm.h"
#include "base/err.h"
#include "outgoing/hooks.h"
#include "base/log.h"
#include "intake/sale.h"

struct tr_config;
struct tr_rules;
struct tr_store;

struct tr_reconcile_stats {
    size_t checked, recovered, corrected, reversed, unchanged;
    size_t unverified; /* leads with no evidence either way: left alone */
    size_t held;       /* reversals the breaker held back (not applied) */
    int busy;          /* another host was reconciling: not run */
    struct tr_hooks_verdict hook; /* AmoCRM's subscription, "" unknown */
};

struct tr_reconcile {
    const struct tr_config *cfg;
    const struct tr_rules *rules;
    struct tr_store *store;
    struct tr_sale sale;
    struct tr_amocrm amo;
    struct tr_log log;
    int enabled; /* an AmoCRM token and a base URL */
    int force;   /* reverse even past the breaker's bound (--force) */
};

/* Fills r (cfg, rules, store kept, not owned); log may be NULL. */
enum tr_err tr_reconcile_init(struct tr_reconcile *r,
                              const struct tr_config *cfg,
                              const struct tr_rules *rules,
                              struct tr_store *store, const struct tr_log *log);

void tr_reconcile_release(struct tr_reconcile *r);

/*
 * Reconciles the window of the last since_s seconds into st.  TR_ECONFIG
 * without AMOCRM_ACCESS_TOKEN; TR_ENET when the API cannot be asked (msg
 * says why; what was done stays done), TR_EDB / TR_EDBDOWN.
 */
enum tr_err tr_reconcile_run(struct tr_reconcile *r, long long since_s,
                             int dry_run, struct tr_reconcile_stats *st,
                             char *msg, size_t msgsz);

/*
 * Asks the API for the account's webhooks (after a slot of the pool's
 * rate) and says in st->hook whether one posts to this service.  TR_ENET,
 * TR_EDB.
 */
enum tr_err tr_reconcile_hook(struct tr_reconcile *r,
                              struct tr_reconcile_stats *st, char *msg,
                              size_t msgsz);

/* The summary line: "reconcile: checked N, recovered N, ...". */
void tr_reconcile_line(const struct tr_reconcile_stats *st, char *buf,
                       size_t bufsz);

#endif
