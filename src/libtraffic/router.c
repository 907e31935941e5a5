/*
 * router.c: routes, the test endpoint, the checks before the body, and the
 * answer of a delivery (stored, spooled, or refused).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "observe/admin.h"
#include "base/metrics.h"
#include "observe/prometheus.h"
#include "observe/status.h"
#include "base/config.h"
#include "observe/health.h"
#include "base/secret.h"
#include "router.h"
#include "base/rules.h"
#include "intake/spool.h"
#include "db/store.h"
#include "base/text.h"

#define TR_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char path_traffic[] = "/webhook/amocrm/traffic";

/* Longer suffixes first: "/webhook/amocrm" ends every webhook path. */
static const struct {
    const char *suffix;
    enum tr_route route;
} routes[] = {
    {"/webhook/amocrm/traffic/test", TR_ROUTE_TEST},
    {"/webhook/amocrm/traffic/health", TR_ROUTE_HEALTH},
    {"/webhook/amocrm/traffic", TR_ROUTE_TRAFFIC},
    {"/webhook/amocrm", TR_ROUTE_UNIFIED},
    {"/api/admin/webhook-logs/stats", TR_ROUTE_ADMIN_STATS},
    {"/api/admin/webhook-logs", TR_ROUTE_ADMIN_LOGS},
    {"/api/admin/notifications", TR_ROUTE_ADMIN_NOTIFICATIONS},
    {"/metrics", TR_ROUTE_METRICS},
    {"/admin", TR_ROUTE_STATUS},
};

void
tr_router_init(struct tr_router *r, const struct tr_config *cfg,
               const struct tr_rules *rules, struct tr_store *store)
{
    r->cfg = cfg;
    r->rules = rules;
    r->store = store;
    memset(&r->health, 0, sizeof(r->health));
    memset(&r->test, 0, sizeof(r->test));
    tr_pipeline_init(&r->pipeline, cfg, rules, store);
}

static int
ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

void
tr_router_release(struct tr_router *r)
{
    free(r->test.head); /* tail points into it */
    memset(&r->test, 0, sizeof(r->test));
}

enum tr_route
tr_router_route(const char *path)
{
    size_t n, i;

    if (path == NULL)
        return TR_ROUTE_NONE;
    n = strcspn(path, "?");
    while (n > 1 && path[n - 1] == '/')
        n--;
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (ends_with(path, n, routes[i].suffix))
            return routes[i].route;
    return TR_ROUTE_NONE;
}

/* Where the timestamp goes in the kept answer (a key and a value no
 * string of the answer can hold unescaped). */
static const char stamp_key[] = "\"timestamp\":\"";
static const char stamp_mark[] = "@@stamp@@";

/*
 * Makes r's test answer for health h: the JSON in two parts, around the
 * timestamp (the rest changes only with the health).  0, or -1 without
 * memory.
 */
static int
make_test(struct tr_router *r, int health, const struct tr_health *h)
{
    struct json_object *o, *list;
    const char *s;
    char *head, *at;
    size_t i;
    int ok = !health || tr_health_can_store(h);

    if ((o = json_object_new_object()) == NULL ||
        (list = json_object_new_array()) == NULL) {
        json_object_put(o);
        return -1;
    }
    for (i = 0; i < r->rules->n; i++)
        json_object_array_add(list,
                              json_object_new_string(r->rules->v[i].name));
    /* the seed's test endpoint is active whatever; health says whether a
     * sale can be stored */
    json_object_object_add(o, "success", json_object_new_boolean(ok));
    json_object_object_add(
        o, "message",
        json_object_new_string("Traffic Dashboard webhook endpoint is active"));
    json_object_object_add(o, "endpoint", json_object_new_string(path_traffic));
    json_object_object_add(o, "version", json_object_new_string(TR_VERSION));
    json_object_object_add(o, "pipeline",
                           json_object_new_int64(r->cfg->pipeline_id));
    json_object_object_add(o, "targetologists", list);
    json_object_object_add(o, "timestamp", json_object_new_string(stamp_mark));
    json_object_object_add(o, "database", json_object_new_string(h->database));
    json_object_object_add(o, "migrations",
                           json_object_new_string(h->migrations));
    json_object_object_add(o, "spool", json_object_new_string(h->spool));
    s = json_object_to_json_string_ext(o, TR_JSON_FLAGS);
    head = s != NULL ? strdup(s) : NULL;
    json_object_put(o);
    if (head == NULL)
        return -1;
    at = strstr(head, stamp_key);
    if (at == NULL || strncmp(at + sizeof(stamp_key) - 1, stamp_mark,
                              sizeof(stamp_mark) - 1) != 0) {
        free(head);
        return -1;
    }
    at += sizeof(stamp_key) - 1;
    *at = '\0';
    tr_router_release(r);
    r->test.head = head;
    r->test.tail = at + sizeof(stamp_mark) - 1;
    r->test.changes = r->health.changes;
    r->test.health = health;
    r->test.ok = ok;
    return 0;
}

void
tr_router_health(struct tr_router *r, struct tr_health *h)
{
    tr_health_get(&r->health, &r->pipeline.sale, r->cfg, h);
}

static void
answer_test(struct tr_router *r, int health, struct tr_response *resp)
{
    struct tr_health h;
    char now[40];

    tr_health_get(&r->health, &r->pipeline.sale, r->cfg, &h);
    if ((r->test.head == NULL || r->test.health != health ||
         r->test.changes != r->health.changes) &&
        make_test(r, health, &h) != 0) {
        tr_response_error(resp, 500, "out of memory");
        return;
    }
    tr_text_iso_now(now, sizeof(now));
    resp->status = r->test.ok ? 200 : 503;
    tr_buf_adds(&resp->body, r->test.head);
    tr_buf_adds(&resp->body, now);
    tr_buf_adds(&resp->body, r->test.tail);
}

/* Whether the request carries WEBHOOK_SECRET: as the path segment nginx
 * matched (the snippet's TRAFFIC_WEBHOOK_TOKEN), or as ?token=. */
static int
token_ok(const struct tr_request *req, const char *secret)
{
    char given[256];

    if (req->token != NULL)
        return tr_secret_equal(req->token, secret);
    return tr_query_param(req->query, "token", given, sizeof(given)) == 1 &&
           tr_secret_equal(given, secret);
}

/* The input of a request, its body not read yet; at holds the time. */
static void
input_of(const struct tr_request *req, enum tr_endpoint ep, char *at,
         size_t atsz, struct tr_input *in)
{
    memset(in, 0, sizeof(*in));
    tr_text_timestamp(at, atsz, req->received_sec, req->received_nsec);
    in->endpoint = ep;
    in->type = tr_body_type_of(req->content_type);
    in->request_id = req->request_id;
    in->received_at = at;
}

/* A request refused before its body: the log row and the answer. */
static int
refuse(struct tr_router *r, const struct tr_input *in, int status,
       const char *why, const char *answer, struct tr_response *resp)
{
    tr_pipeline_log_error(&r->pipeline, in, "request", why);
    snprintf(resp->error, sizeof(resp->error), "%s", why);
    tr_response_error(resp, status, answer);
    return 0;
}

#define TR_WRONG_TOKEN "missing or wrong webhook token"

/* The checks of a webhook POST before its body is read. */
static int
check_webhook(struct tr_router *r, enum tr_endpoint ep, struct tr_request *req,
              struct tr_response *resp)
{
    struct tr_input in;
    char at[40], why[128];

    input_of(req, ep, at, sizeof(at), &in);
    if (r->cfg->webhook_secret != NULL &&
        !token_ok(req, r->cfg->webhook_secret)) {
        /* a body of the usual kind is read for its leads' log rows, so
         * that a sale refused for a stale secret can be found by its lead
         * (tr_router_finish); nothing else of it is acted on */
        req->unauthenticated = 1;
        if (in.type != TR_BODY_UNSUPPORTED && req->content_length > 0 &&
            (unsigned long long)req->content_length <=
                r->pipeline.limits.max_bytes)
            return 1;
        tr_pipeline_log_error(&r->pipeline, &in, "unauthenticated",
                              TR_WRONG_TOKEN);
        tr_response_error(resp, 403, "forbidden");
        return 0;
    }
    if (in.type == TR_BODY_UNSUPPORTED) {
        snprintf(why, sizeof(why), "unsupported content type \"%.60s\"",
                 req->content_type ? req->content_type : "");
        return refuse(r, &in, 415, why,
                      "unsupported content type: send "
                      "application/x-www-form-urlencoded or "
                      "application/json",
                      resp);
    }
    if (req->content_length < 0) {
        tr_response_error(resp, 411, "content-length required");
        return 0;
    }
    if ((unsigned long long)req->content_length >
        r->pipeline.limits.max_bytes) {
        snprintf(why, sizeof(why), "body of %lld bytes over the %zu limit",
                 req->content_length, r->pipeline.limits.max_bytes);
        return refuse(r, &in, 413, why, "body too large", resp);
    }
    if (req->content_length == 0)
        return refuse(r, &in, 400, "empty body", "empty body", resp);
    return 1;
}

/* HEAD or POST to a webhook path; anything else is a 405. */
static int
begin_webhook(struct tr_router *r, enum tr_endpoint ep, struct tr_request *req,
              struct tr_response *resp)
{
    const char *m = req->method ? req->method : "";

    if (strcmp(m, "HEAD") == 0) {
        resp->status = 200;
        return 0;
    }
    if (strcmp(m, "POST") != 0) {
        resp->allow = "POST, HEAD";
        tr_response_error(resp, 405, "method not allowed");
        return 0;
    }
    return check_webhook(r, ep, req, resp);
}

static void
begin_test(struct tr_router *r, int health, const struct tr_request *req,
           struct tr_response *resp)
{
    const char *m = req->method ? req->method : "";

    if (strcmp(m, "HEAD") == 0) {
        resp->status = 200;
    } else if (strcmp(m, "GET") != 0) {
        resp->allow = "GET, HEAD";
        tr_response_error(resp, 405, "method not allowed");
    } else {
        answer_test(r, health, resp);
    }
}

int
tr_router_begin(struct tr_router *r, struct tr_request *req,
                struct tr_response *resp)
{
    req->route = (int)tr_router_route(req->path);
    switch ((enum tr_route)req->route) {
    case TR_ROUTE_NONE:
        tr_response_error(resp, 404, "not found");
        return 0;
    case TR_ROUTE_TEST:
    case TR_ROUTE_HEALTH:
        begin_test(r, req->route == TR_ROUTE_HEALTH, req, resp);
        return 0;
    case TR_ROUTE_ADMIN_LOGS:
        tr_admin_answer(r->cfg, r->store, TR_ADMIN_LOGS, req, resp);
        return 0;
    case TR_ROUTE_ADMIN_STATS:
        tr_admin_answer(r->cfg, r->store, TR_ADMIN_STATS, req, resp);
        return 0;
    case TR_ROUTE_ADMIN_NOTIFICATIONS:
        tr_admin_answer(r->cfg, r->store, TR_ADMIN_NOTIFICATIONS, req, resp);
        return 0;
    case TR_ROUTE_METRICS:
        tr_prometheus_answer(r->cfg, r->rules, r->store, req, resp);
        return 0;
    case TR_ROUTE_STATUS:
        tr_status_answer(r->cfg, r->rules, r->store, req, resp);
        return 0;
    case TR_ROUTE_TRAFFIC:
        return begin_webhook(r, TR_EP_TRAFFIC, req, resp);
    case TR_ROUTE_UNIFIED:
        return begin_webhook(r, TR_EP_UNIFIED, req, resp);
    }
    return 0;
}

/*
 * Nothing could be committed: the request goes to the spool and AmoCRM
 * still gets its 200; only when that fails too is the answer 503 (AmoCRM
 * then retries).
 */
static void
spool(struct tr_router *r, const struct tr_request *req,
      const struct tr_input *in, const char *dberr, struct tr_response *resp)
{
    struct tr_spool_entry e;
    struct timespec t0, t1;
    char why[512];

    e.endpoint = tr_endpoint_name(in->endpoint);
    e.content_type = req->content_type;
    e.request_id = req->request_id;
    e.received_at = in->received_at;
    e.body = req->body;
    e.body_len = req->body_len;
    tr_metrics_event(TR_M_DB_ERROR);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (tr_spool_write(r->cfg->spool_dir, &e, req->received_sec,
                       req->received_nsec, why, sizeof(why)) != TR_OK) {
        tr_metrics_event(TR_M_SPOOL_FAILED);
        snprintf(resp->error, sizeof(resp->error), "%.200s; spool: %.200s",
                 dberr, why);
        tr_response_error(resp, 503,
                          "could not store the delivery; retry later");
        return;
    }
    tr_metrics_event(TR_M_SPOOLED);
    /* how long the disk took with it: part of the answer's time that is
     * not the database's */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    snprintf(resp->error, sizeof(resp->error), "%.200s; spooled in %ld ms",
             dberr, tr_ms_since(&t0, &t1));
    resp->status = 200;
    tr_buf_adds(&resp->body, "{\"success\":true,\"queued\":true}");
}

/* The answer to a processed delivery, by what the pipeline said. */
static void
answer_delivery(struct tr_router *r, const struct tr_request *req,
                const struct tr_input *in, enum tr_err err, const char *msg,
                const struct tr_results *res, struct tr_response *resp)
{
    switch (err) {
    case TR_OK:
        resp->status = 200;
        tr_buf_addf(&resp->body,
                    "{\"success\":true,\"results\":{\"total\":%zu,"
                    "\"processed\":%zu,\"duplicates\":%zu,\"skipped\":%zu,"
                    "\"ignored\":%zu,\"errors\":%zu}}",
                    res->total, res->processed, res->duplicates, res->skipped,
                    res->ignored, res->errors);
        return;
    case TR_EINVAL:
    case TR_ETOOBIG:
        snprintf(resp->error, sizeof(resp->error), "%s", msg);
        tr_response_error(resp, err == TR_EINVAL ? 400 : 413, msg);
        return;
    case TR_EDENIED:
        snprintf(resp->error, sizeof(resp->error), "%s", msg);
        tr_response_error(resp, 403, "forbidden: not the configured account");
        return;
    case TR_EREFUSED:
        /* a spool entry would fail on every replay: an error, not "queued" */
        snprintf(resp->error, sizeof(resp->error), "%s", msg);
        tr_response_error(resp, 422, "the database refuses this delivery");
        return;
    default:
        spool(r, req, in, msg, resp);
        return;
    }
}

void
tr_router_finish(struct tr_router *r, struct tr_request *req,
                 struct tr_response *resp, struct tr_results *res)
{
    enum tr_endpoint ep =
        req->route == TR_ROUTE_UNIFIED ? TR_EP_UNIFIED : TR_EP_TRAFFIC;
    struct tr_input in;
    char at[40], msg[256];
    enum tr_err err;

    memset(res, 0, sizeof(*res));
    input_of(req, ep, at, sizeof(at), &in);
    if (!req->body_short) {
        in.body = req->body;
        in.len = req->body_len;
    }
    if (req->unauthenticated) {
        tr_pipeline_log_error(&r->pipeline, &in, "unauthenticated",
                              TR_WRONG_TOKEN);
        snprintf(resp->error, sizeof(resp->error), "%s", TR_WRONG_TOKEN);
        tr_response_error(resp, 403, "forbidden");
        return;
    }
    if (req->body_short) {
        refuse(r, &in, 400, "body shorter than content-length",
               "body shorter than content-length", resp);
        return;
    }
    err = tr_pipeline_process(&r->pipeline, &in, 0, res, msg, sizeof(msg));
    answer_delivery(r, req, &in, err, msg, res, resp);
}
