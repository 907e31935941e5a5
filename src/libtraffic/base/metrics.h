/*
 * metrics.h: the service's counters, summed over every process of a host.
 *
 * The workers of the pool and the deliver sidecar map one file
 * (METRICS_FILE, default SPOOL_DIR/.metrics) and add to its counters with
 * atomic operations: no write to PostgreSQL per request, no lock on the
 * request path.  GET /metrics (prometheus.h) reads them with the gauges.
 * The counting calls are process-wide, like a log: each process opens the
 * file once (tr_metrics_open); before that, or when it cannot be opened,
 * they count nothing.  A file of another layout (an upgrade) is replaced,
 * not reused.
 */
#ifndef TR_METRICS_H
#define TR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* What the counters are counted by. */
enum tr_metrics_endpoint {
    TR_M_EP_TRAFFIC,
    TR_M_EP_UNIFIED,
    TR_M_EP_TEST,
    TR_M_EP_HEALTH,
    TR_M_EP_ADMIN,
    TR_M_EP_METRICS,
    TR_M_EP_OTHER,
    TR_M_EP_N
};

enum tr_metrics_event {
    TR_M_DB_ERROR,     /* a delivery the database did not take */
    TR_M_SPOOLED,      /* ... written to the spool instead */
    TR_M_SPOOL_FAILED, /* ... nor to the spool: a 503 */
    TR_M_EVENT_N
};

#define TR_METRICS_NAMES 64 /* targetologists, across reloads */
#define TR_METRICS_NAME_MAX 64
#define TR_METRICS_BUCKETS 12
#define TR_METRICS_STATUSES 14 /* the statuses counted apart, 0: other */

#define TR_METRICS_RULES_MAX 257 /* targetologists: TR_RULES_MAX + Unknown */

/*
 * Opens (creating when missing) the counters file at path for this
 * process, and names the n targetologists of names in it (tr_rules_names:
 * the fallback last; the array is kept, so it must outlive the counters).
 * TR_EIO with the reason; the counters then count nothing.
 */
enum tr_err tr_metrics_open(const char *path, const char *const *names,
                            size_t n, char *msg, size_t msgsz);

/* Unmaps the file (the counters stay in it). */
void tr_metrics_close(void);

/* A request answered: its endpoint, its status and, for the webhooks, how
 * long it took. */
void tr_metrics_request(enum tr_metrics_endpoint ep, int status,
                        double seconds);

/* A lead of a delivery: its outcome's index (enum tr_outcome), unified or
 * not. */
void tr_metrics_lead(int unified, int outcome);

/* A new sale of the targetologist at index i of the names opened
 * (tr_rules_index), amount "100000" or "99.5" ("": unknown). */
void tr_metrics_sale(size_t i, const char *amount);

/* A stored sale changed: "price_changed", "reversed", "restored". */
void tr_metrics_change(const char *change);

void tr_metrics_event(enum tr_metrics_event e);

/* A Telegram call's outcome (enum tr_tg_outcome). */
void tr_metrics_telegram(int outcome);

/* An AmoCRM call's outcome (enum tr_amo_status). */
void tr_metrics_amocrm(int status);

/* Enrichment of a sale: "done", "failed", "unconfirmed", "retry". */
void tr_metrics_enrich(const char *result);

/* A reconciliation's counts. */
void tr_metrics_reconcile(size_t recovered, size_t corrected, size_t reversed,
                          size_t unchanged, int failed);

/* A copy of the counters, to read while others add to them. */
struct tr_metrics_snapshot {
    uint64_t requests[TR_M_EP_N][TR_METRICS_STATUSES]; /* by status */
    uint64_t duration[TR_METRICS_BUCKETS + 1];         /* webhooks, +Inf last */
    uint64_t duration_sum_us, duration_count;
    uint64_t leads[2][5]; /* traffic/unified x outcome */
    uint64_t changes[3];
    uint64_t events[TR_M_EVENT_N];
    uint64_t telegram[6], amocrm[4], enrich[4], reconcile[6];
    char names[TR_METRICS_NAMES][TR_METRICS_NAME_MAX];
    uint64_t sales[TR_METRICS_NAMES], amount_cents[TR_METRICS_NAMES];
};

/* Copies the counters into s; 0, or -1 when the file is not open. */
int tr_metrics_read(struct tr_metrics_snapshot *s);

/* The labels of the counters' indexes, for the exposition. */
extern const int tr_metrics_statuses[TR_METRICS_STATUSES]; /* 0: other */
extern const double tr_metrics_bounds[TR_METRICS_BUCKETS];
extern const char *const tr_metrics_endpoints[TR_M_EP_N];

#endif
