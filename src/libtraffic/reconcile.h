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
 *      a request: a lead no longer won, or that the API no longer returns
 *      (deleted), is reversed.
 *   3. GET /api/v4/webhooks: whether a subscription posts to this service
 *      (WEBHOOK_PUBLIC_URL, else a destination ending in
 *      /webhook/amocrm/traffic or /webhook/amocrm) and is enabled.
 *
 * Changes go through the webhook's own statements (sale.h) with source
 * 'reconcile', so a second run changes nothing.  One host at a time runs
 * it (an advisory lock); every request takes a slot of the pool's rate
 * (amorate.h) and 429/5xx are retried.  A dry run rolls each change back.
 */
#ifndef TR_RECONCILE_H
#define TR_RECONCILE_H

#include <stddef.h>

#include "amocrm.h"
#include "err.h"
#include "log.h"
#include "sale.h"

struct tr_config;
struct tr_rules;
struct tr_store;

struct tr_reconcile_stats {
    size_t checked, recovered, corrected, reversed, unchanged;
    int busy;               /* another host was reconciling: not run */
    char hook[16];          /* "ok", "missing", "disabled", "" unknown */
    char hook_problem[512]; /* what to do about it, or "" */
};

struct tr_reconcile {
    const struct tr_config *cfg;
    const struct tr_rules *rules;
    struct tr_store *store;
    struct tr_sale sale;
    struct tr_amocrm amo;
    struct tr_log log;
    int enabled; /* an AmoCRM token and a base URL */
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
 * Asks the API for the account's webhooks and says in st->hook and
 * st->hook_problem whether one posts to this service.  TR_ENET.
 */
enum tr_err tr_reconcile_hook(struct tr_reconcile *r,
                              struct tr_reconcile_stats *st, char *msg,
                              size_t msgsz);

/*
 * Whether one of hooks posts to this service (WEBHOOK_PUBLIC_URL, else a
 * destination ending in /webhook/amocrm/traffic or /webhook/amocrm) and is
 * enabled, into st->hook and st->hook_problem.
 */
void tr_reconcile_judge_hooks(const struct tr_config *cfg,
                              const struct tr_amo_hooks *hooks,
                              struct tr_reconcile_stats *st);

/* The summary line: "reconcile: checked N, recovered N, ...". */
void tr_reconcile_line(const struct tr_reconcile_stats *st, char *buf,
                       size_t bufsz);

#endif
