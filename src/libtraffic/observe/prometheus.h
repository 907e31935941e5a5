/*
 * prometheus.h: GET /metrics in the Prometheus text format (0.0.4).
 *
 * The counters of the host's pool and sidecar (metrics.h: requests by
 * endpoint and status, a duration histogram of the webhooks, leads by
 * outcome, sales and amounts by targetologist, database errors and spooled
 * deliveries, Telegram and AmoCRM calls, enrichment and reconciliation),
 * then gauges read now with cheap queries (the spool's depth, the outbox
 * by state, the ages of the last webhook and sale, the last
 * reconciliation and AmoCRM's hook, whether this worker's sale statements
 * kept their generic plans).  Behind ADMIN_TOKEN (Bearer), or an nginx
 * allow-list (TRAFFIC_ADMIN_TRUSTED).
 */
#ifndef TR_PROMETHEUS_H
#define TR_PROMETHEUS_H

struct tr_config;
struct tr_request;
struct tr_response;
struct tr_rules;
struct tr_store;

/* Answers GET /metrics (rules: the targetologists of the ROI gauges). */
void tr_prometheus_answer(const struct tr_config *cfg,
                          const struct tr_rules *rules, struct tr_store *store,
                          const struct tr_request *req,
                          struct tr_response *resp);

#endif
