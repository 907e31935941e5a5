/*
 * prometheus.c: GET /metrics, the counters of metrics.h and the gauges of
 * the database, in the Prometheus text format (0.0.4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observe/admin.h"
#include "observe/alerts.h"
#include "base/config.h"
#include "base/metrics.h"
#include "observe/prometheus.h"
#include "outgoing/roi.h"
#include "base/request.h"
#include "intake/spool.h"
#include "sql.h"
#include "db/rows.h"
#include "db/store.h"

#define PREFIX "traffic_webhook_"

static const char *const outcomes[5] = {"success", "duplicate", "skipped",
                                        "ignored", "error"};
static const char *const changes[3] = {"price_changed", "reversed", "restored"};
static const char *const telegram[6] = {"sent",  "retry",    "failed",
                                        "plain", "migrated", "moot"};
static const char *const amocrm[4] = {"ok", "gone", "denied", "retry"};
static const char *const enrich[4] = {"done", "failed", "unconfirmed", "retry"};

/* "# HELP" and "# TYPE" of a metric. */
static void
head(struct tr_buf *b, const char *name, const char *type, const char *help)
{
    tr_buf_addf(b, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name,
                help, name, type);
}

/* A label value, escaped as the format asks (\\, \", \n). */
static void
label(struct tr_buf *b, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\' || *v == '"')
            tr_buf_addf(b, "\\%c", *v);
        else if (*v == '\n')
            tr_buf_adds(b, "\\n");
        else
            tr_buf_add(b, v, 1);
    }
}

/* One counter family by one label. */
static void
family(struct tr_buf *b, const char *name, const char *help, const char *key,
       const char *const *values, const uint64_t *v, size_t n)
{
    size_t i;

    head(b, name, "counter", help);
    for (i = 0; i < n; i++)
        tr_buf_addf(b, PREFIX "%s{%s=\"%s\"} %llu\n", name, key, values[i],
                    (unsigned long long)v[i]);
}

static void
requests(struct tr_buf *b, const struct tr_metrics_snapshot *s)
{
    size_t e, k;

    head(b, "requests_total", "counter",
         "HTTP requests answered, by endpoint and status.");
    for (e = 0; e < TR_M_EP_N; e++)
        for (k = 0; k < TR_METRICS_STATUSES; k++)
            if (s->requests[e][k] > 0 || k == 1)
                tr_buf_addf(b,
                            PREFIX "requests_total{endpoint=\"%s\",status="
                                   "\"%s%d\"} %llu\n",
                            tr_metrics_endpoints[e], k ? "" : "other",
                            k ? tr_metrics_statuses[k] : 0,
                            (unsigned long long)s->requests[e][k]);
}

static void
histogram(struct tr_buf *b, const struct tr_metrics_snapshot *s)
{
    uint64_t cum = 0;
    size_t k;

    head(b, "request_duration_seconds", "histogram",
         "How long a webhook delivery took, read to answer.");
    for (k = 0; k < TR_METRICS_BUCKETS; k++) {
        cum += s->duration[k];
        tr_buf_addf(b,
                    PREFIX "request_duration_seconds_bucket{le=\"%g\"} "
                           "%llu\n",
                    tr_metrics_bounds[k], (unsigned long long)cum);
    }
    cum += s->duration[TR_METRICS_BUCKETS];
    tr_buf_addf(b,
                PREFIX
                "request_duration_seconds_bucket{le=\"+Inf\"} %llu\n" PREFIX
                "request_duration_seconds_sum %.6f\n" PREFIX
                "request_duration_seconds_count %llu\n",
                (unsigned long long)cum, (double)s->duration_sum_us / 1e6,
                (unsigned long long)s->duration_count);
}

static void
leads(struct tr_buf *b, const struct tr_metrics_snapshot *s)
{
    size_t u, k;

    head(b, "leads_total", "counter",
         "Leads of the deliveries, by endpoint and outcome.");
    for (u = 0; u < 2; u++)
        for (k = 0; k < 5; k++)
            tr_buf_addf(b,
                        PREFIX "leads_total{endpoint=\"%s\",outcome=\"%s\"} "
                               "%llu\n",
                        u ? "unified" : "traffic", outcomes[k],
                        (unsigned long long)s->leads[u][k]);
}

static void
sales(struct tr_buf *b, const struct tr_metrics_snapshot *s)
{
    size_t i, pass;

    for (pass = 0; pass < 2; pass++) {
        head(b, pass ? "sales_amount_total" : "sales_total", "counter",
             pass ? "The amounts of the new sales, by targetologist."
                  : "New sales, by targetologist.");
        for (i = 0; i < TR_METRICS_NAMES; i++) {
            if (s->names[i][0] == '\0')
                continue;
            tr_buf_addf(b, PREFIX "%s{targetologist=\"",
                        pass ? "sales_amount_total" : "sales_total");
            label(b, s->names[i]);
            if (pass)
                tr_buf_addf(b, "\"} %.2f\n", (double)s->amount_cents[i] / 100);
            else
                tr_buf_addf(b, "\"} %llu\n", (unsigned long long)s->sales[i]);
        }
    }
}

static void
counters(struct tr_buf *b, const struct tr_metrics_snapshot *s)
{
    static const char *const rec[6] = {"runs",      "failed",   "recovered",
                                       "corrected", "reversed", "unchanged"};

    requests(b, s);
    histogram(b, s);
    leads(b, s);
    sales(b, s);
    family(b, "sale_changes_total", "Stored sales that changed.", "change",
           changes, s->changes, 3);
    head(b, "database_errors_total", "counter",
         "Deliveries the database did not take.");
    tr_buf_addf(b, PREFIX "database_errors_total %llu\n",
                (unsigned long long)s->events[TR_M_DB_ERROR]);
    head(b, "spooled_total", "counter",
         "Deliveries kept in the spool instead.");
    tr_buf_addf(b, PREFIX "spooled_total %llu\n",
                (unsigned long long)s->events[TR_M_SPOOLED]);
    head(b, "spool_failures_total", "counter",
         "Deliveries neither stored nor spooled (answered 503).");
    tr_buf_addf(b, PREFIX "spool_failures_total %llu\n",
                (unsigned long long)s->events[TR_M_SPOOL_FAILED]);
    family(b, "telegram_calls_total", "Telegram Bot API calls, by result.",
           "result", telegram, s->telegram, 6);
    family(b, "amocrm_calls_total", "AmoCRM API calls, by result.", "result",
           amocrm, s->amocrm, 4);
    family(b, "enrich_total", "Sales completed through the AmoCRM API.",
           "result", enrich, s->enrich, 4);
    family(b, "reconcile_total", "Reconciliations and what they found.", "what",
           rec, s->reconcile, 6);
}

/* The gauges of the database: the outbox, the last webhook and sale. */
static void
database(struct tr_buf *b, struct tr_store *store)
{
    char msg[256];
    struct tr_rows *res;
    int up;

    res =
        tr_store_query(store, tr_sql_metrics_gauges, 0, NULL, msg, sizeof(msg));
    up = res != NULL && tr_rows_count(res) == 1;
    head(b, "database_up", "gauge", "Whether the database answered.");
    tr_buf_addf(b, PREFIX "database_up %d\n", up);
    if (up) {
        head(b, "outbox_messages", "gauge", "Telegram messages by state.");
        tr_buf_addf(b,
                    PREFIX "outbox_messages{status=\"pending\"} %s\n" PREFIX
                           "outbox_messages{status=\"failed\"} %s\n",
                    tr_rows_text(res, 0, "pending"),
                    tr_rows_text(res, 0, "failed"));
        head(b, "last_webhook_age_seconds", "gauge",
             "Seconds since the last webhook (-1: none yet).");
        tr_buf_addf(b, PREFIX "last_webhook_age_seconds %s\n",
                    tr_rows_text(res, 0, "webhook_age"));
        head(b, "last_sale_age_seconds", "gauge",
             "Seconds since the last sale (-1: none yet).");
        tr_buf_addf(b, PREFIX "last_sale_age_seconds %s\n",
                    tr_rows_text(res, 0, "sale_age"));
        head(b, "reconcile_last_run_timestamp_seconds", "gauge",
             "When the last reconciliation started (0: never).");
        tr_buf_addf(b, PREFIX "reconcile_last_run_timestamp_seconds %s\n",
                    tr_rows_text(res, 0, "reconcile_at"));
        head(b, "amocrm_hook_ok", "gauge",
             "Whether AmoCRM's webhook posts here and is enabled, as the "
             "last reconciliation saw it (-1: unknown).");
        tr_buf_addf(b, PREFIX "amocrm_hook_ok %d\n",
                    tr_rows_text(res, 0, "hook")[0] == '\0'
                        ? -1
                        : strcmp(tr_rows_text(res, 0, "hook"), "ok") == 0);
    }
    tr_rows_free(res);
}

/* The alerts of alerts.h, as the deliver sidecar last found them. */
static void
alerts(struct tr_buf *b, const struct tr_config *cfg, struct tr_store *store)
{
    char msg[256];
    struct tr_rows *res;
    int r;

    head(b, "alert_active", "gauge",
         "1 while a problem the deliver sidecar watches for lasts.");
    /* this host's, from its spool: said while the database is away too */
    tr_buf_addf(b, PREFIX "alert_active{alert=\"spool\"} %d\n",
                tr_alerts_spool_active(cfg));
    if ((res = tr_store_query(store, tr_sql_alert_all, 0, NULL, msg,
                              sizeof(msg))) == NULL)
        return;
    for (r = 0; r < tr_rows_count(res); r++) {
        tr_buf_adds(b, PREFIX "alert_active{alert=\"");
        label(b, tr_rows_text(res, r, "alert"));
        tr_buf_addf(b, "\"} %d\n", tr_rows_text(res, r, "active")[0] == 't');
    }
    tr_rows_free(res);
}

/* Whether this worker's prepared sale statements kept generic plans. */
static void
plans(struct tr_buf *b, struct tr_store *store)
{
    static const struct {
        const char *name, *sql;
    } sale[] = {
        {"sale", tr_sql_sale},
        {"sale_conv", tr_sql_sale_conv},
    };
    enum { N = sizeof(sale) / sizeof(sale[0]) };
    char names[N][24], list[96], msg[256];
    const char *p[1] = {list}, *as[N];
    size_t i, o = 0;
    struct tr_rows *res;
    int r;

    o = (size_t)snprintf(list, sizeof(list), "{");
    for (i = 0; i < N; i++)
        if ((as[i] = tr_store_prepared_as(store, sale[i].sql, names[i],
                                          sizeof(names[i]))) != NULL)
            o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
                                  o > 1 ? "," : "", as[i]);
    snprintf(list + o, sizeof(list) - o, "}");
    if ((res = tr_store_query(store, tr_sql_metrics_plans, 1, p, msg,
                              sizeof(msg))) == NULL)
        return;
    head(b, "sale_statement_generic_plan", "gauge",
         "1 while a sale statement this worker prepared runs on its generic "
         "plan (0: re-planned per sale, twice the cost).");
    for (r = 0; r < tr_rows_count(res); r++)
        for (i = 0; i < N; i++)
            if (as[i] != NULL &&
                strcmp(as[i], tr_rows_text(res, r, "name")) == 0)
                tr_buf_addf(b,
                            PREFIX "sale_statement_generic_plan{statement="
                                   "\"%s\"} %d\n",
                            sale[i].name,
                            tr_rows_long(res, r, "generic_plans") >=
                                tr_rows_long(res, r, "custom_plans"));
    tr_rows_free(res);
}

/* One period's figure of every targetologist (the total left out). */
static void
per_targetologist(struct tr_buf *b, const char *name, const struct tr_roi *roi,
                  const char *period, int spend)
{
    size_t i;

    for (i = 0; i < roi->n; i++) {
        if (roi->v[i].who[0] == '\0')
            continue;
        tr_buf_addf(b, PREFIX "%s{targetologist=\"", name);
        label(b, roi->v[i].who);
        tr_buf_addf(b, "\",period=\"%s\"} %s\n", period,
                    spend ? roi->v[i].spend : roi->v[i].revenue);
    }
}

/* With FACEBOOK_ADS_TOKEN: spend and revenue per targetologist today and
 * this month (DIGEST_TZ), and the last good sync's time. */
static void
ads(struct tr_buf *b, const struct tr_config *cfg, const struct tr_rules *rules,
    struct tr_store *store)
{
    struct tr_roi_days d;
    struct tr_roi day, month;
    char msg[256];
    struct tr_rows *res;
    int k;

    if (cfg->fb_token == NULL ||
        tr_roi_days(store, cfg, &d, msg, sizeof(msg)) != TR_OK)
        return;
    memset(&month, 0, sizeof(month));
    if (tr_roi_compute(store, cfg, rules, d.today, d.today, &day, msg,
                       sizeof(msg)) == TR_OK &&
        tr_roi_compute(store, cfg, rules, d.month, d.today, &month, msg,
                       sizeof(msg)) == TR_OK) {
        for (k = 1; k >= 0; k--) {
            head(b, k ? "ad_spend_kzt" : "revenue_kzt", "gauge",
                 k ? "Ad spend in tenge at the official rates, per "
                     "targetologist, today and this month (DIGEST_TZ)."
                   : "Revenue of the dashboard's won sales in tenge, per "
                     "targetologist, today and this month (DIGEST_TZ).");
            per_targetologist(b, k ? "ad_spend_kzt" : "revenue_kzt", &day,
                              "day", k);
            per_targetologist(b, k ? "ad_spend_kzt" : "revenue_kzt", &month,
                              "month", k);
        }
    }
    tr_roi_release(&day);
    tr_roi_release(&month);
    if ((res = tr_store_query(store, tr_sql_ads_last_sync, 0, NULL, msg,
                              sizeof(msg))) == NULL)
        return;
    head(b, "ads_last_sync_timestamp_seconds", "gauge",
         "When the last ad spend sync finished without error (0: never).");
    tr_buf_addf(b, PREFIX "ads_last_sync_timestamp_seconds %s\n",
                tr_rows_text(res, 0, "last_ok"));
    tr_rows_free(res);
}

void
tr_prometheus_answer(const struct tr_config *cfg, const struct tr_rules *rules,
                     struct tr_store *store, const struct tr_request *req,
                     struct tr_response *resp)
{
    struct tr_metrics_snapshot s;
    const char *m = req->method ? req->method : "";
    long depth;

    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
        resp->allow = "GET, HEAD";
        tr_response_error(resp, 405, "method not allowed");
        return;
    }
    if (!tr_admin_allowed(cfg, req, 0, resp))
        return;
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    head(&resp->body, "up", "gauge", "1: this worker answers.");
    tr_buf_adds(&resp->body, PREFIX "up 1\n");
    if (tr_metrics_read(&s) == 0)
        counters(&resp->body, &s);
    depth = tr_spool_depth(cfg->spool_dir);
    head(&resp->body, "spool_depth", "gauge",
         "Deliveries waiting in the spool (-1: it cannot be read).");
    tr_buf_addf(&resp->body, PREFIX "spool_depth %ld\n", depth);
    head(&resp->body, "spool_set_aside", "gauge",
         "Spooled deliveries set aside in SPOOL_DIR/corrupt, never stored.");
    tr_buf_addf(&resp->body, PREFIX "spool_set_aside %ld\n",
                tr_spool_corrupt(cfg->spool_dir));
    database(&resp->body, store);
    alerts(&resp->body, cfg, store);
    ads(&resp->body, cfg, rules, store);
    plans(&resp->body, store);
}
