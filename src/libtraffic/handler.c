/*
 * handler.c: routing, the checks before the body, and the processing of a
 * webhook body into one stored delivery.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin.h"
#include "config.h"
#include "handler.h"
#include "leads.h"
#include "rules.h"
#include "spool.h"
#include "store.h"

#define TR_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char path_traffic[] = "/webhook/amocrm/traffic";

/* Longer suffixes first: "/webhook/amocrm" ends every webhook path. */
static const struct {
    const char *suffix;
    enum tr_route route;
} routes[] = {
    {"/webhook/amocrm/traffic/test", TR_ROUTE_TEST},
    {"/webhook/amocrm/traffic", TR_ROUTE_TRAFFIC},
    {"/webhook/amocrm", TR_ROUTE_UNIFIED},
    {"/api/admin/webhook-logs/stats", TR_ROUTE_ADMIN_STATS},
    {"/api/admin/webhook-logs", TR_ROUTE_ADMIN_LOGS},
    {"/api/admin/notifications", TR_ROUTE_ADMIN_NOTIFICATIONS},
};

void
tr_handler_init(struct tr_handler *h, const struct tr_config *cfg,
                const struct tr_rules *rules, struct tr_store *store)
{
    h->cfg = cfg;
    h->rules = rules;
    h->store = store;
    tr_body_limits_init(&h->limits, cfg->max_body_bytes);
}

void
tr_response_init(struct tr_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    tr_buf_init(&resp->body, 1024 * 1024);   /* admin answers are large */
}

void
tr_response_release(struct tr_response *resp)
{
    tr_buf_release(&resp->body);
}

static int
ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

enum tr_route
tr_handler_route(const char *path)
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

const char *
tr_handler_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    }
    return "Unknown";
}

void
tr_response_error(struct tr_response *resp, int status, const char *error)
{
    struct json_object *o = json_object_new_object();

    resp->status = status;
    tr_buf_reset(&resp->body);
    if (resp->error[0] == '\0')
        snprintf(resp->error, sizeof(resp->error), "%s", error);
    if (o == NULL) {
        tr_buf_adds(&resp->body, "{\"success\":false}");
        return;
    }
    json_object_object_add(o, "success", json_object_new_boolean(0));
    json_object_object_add(o, "error", json_object_new_string(error));
    tr_buf_adds(&resp->body,
                json_object_to_json_string_ext(o, TR_JSON_FLAGS));
    json_object_put(o);
}

static void
iso_now(char *buf, size_t bufsz)
{
    struct timespec ts;
    struct tm tm;
    char date[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, bufsz, "%.20s.%03dZ", date, (int)(ts.tv_nsec / 1000000));
}

static void
answer_test(struct tr_handler *h, struct tr_response *resp)
{
    struct json_object *o, *list;
    char now[40];
    size_t i;

    if ((o = json_object_new_object()) == NULL ||
        (list = json_object_new_array()) == NULL) {
        json_object_put(o);
        tr_response_error(resp, 500, "out of memory");
        return;
    }
    for (i = 0; i < h->rules->n; i++)
        json_object_array_add(list, json_object_new_string(h->rules->v[i].name));
    iso_now(now, sizeof(now));
    json_object_object_add(o, "success", json_object_new_boolean(1));
    json_object_object_add(o, "message", json_object_new_string(
        "Traffic Dashboard webhook endpoint is active"));
    json_object_object_add(o, "endpoint", json_object_new_string(path_traffic));
    json_object_object_add(o, "version", json_object_new_string(TR_VERSION));
    json_object_object_add(o, "pipeline",
                           json_object_new_int64(h->cfg->pipeline_id));
    json_object_object_add(o, "targetologists", list);
    json_object_object_add(o, "timestamp", json_object_new_string(now));
    json_object_object_add(o, "database", json_object_new_string(
        tr_store_alive(h->store) ? "connected" : "unavailable"));
    resp->status = 200;
    tr_buf_adds(&resp->body,
                json_object_to_json_string_ext(o, TR_JSON_FLAGS));
    json_object_put(o);
}

/* Writes the error row of a delivery that could not be processed. */
static void
log_error(struct tr_handler *h, const char *source, const char *event,
          const char *error, const char *body, size_t len,
          const char *request_id, const char *received_at)
{
    struct tr_delivery d;
    struct tr_item it;
    struct tr_buf logbody;
    char msg[256];

    memset(&d, 0, sizeof(d));
    memset(&it, 0, sizeof(it));
    tr_buf_init(&logbody, TR_LOG_BODY_MAX + 64);
    tr_store_sanitize(&logbody, body ? body : "", body ? len : 0,
                      TR_LOG_BODY_MAX);
    it.outcome = TR_OUT_ERROR;
    it.event = event;
    snprintf(it.reason, sizeof(it.reason), "%s", error);
    d.source = source;
    d.request_id = request_id;
    snprintf(d.received_at, sizeof(d.received_at), "%s", received_at);
    d.log_body = logbody.data ? logbody.data : "";
    d.items = &it;
    d.nitems = 1;
    tr_store_save(h->store, &d, msg, sizeof(msg));
    tr_buf_release(&logbody);
}

int
tr_query_param(const char *query, const char *key, char *buf, size_t bufsz)
{
    size_t k = strlen(key), n;
    const char *p = query, *why;
    long len;

    while (p != NULL && *p != '\0') {
        n = strcspn(p, "&");
        if (n > k && strncmp(p, key, k) == 0 && p[k] == '=') {
            /* decoding never makes a value longer */
            if (n - k - 1 >= bufsz ||
                (len = tr_body_decode(p + k + 1, n - k - 1, buf, &why)) < 0)
                return -1;
            buf[len] = '\0';
            return 1;
        }
        p += n + (p[n] == '&');
    }
    return 0;
}

/* Whether the query string carries token=WEBHOOK_SECRET. */
static int
token_ok(const char *query, const char *secret)
{
    char given[256];

    return tr_query_param(query, "token", given, sizeof(given)) == 1 &&
           tr_config_secret_equal(given, secret);
}

static void
received_text(const struct tr_request *req, char *buf, size_t bufsz)
{
    tr_store_timestamp(buf, bufsz, req->received_sec, req->received_nsec);
}

int
tr_handler_begin(struct tr_handler *h, struct tr_request *req,
                 struct tr_response *resp)
{
    enum tr_route route = tr_handler_route(req->path);
    const char *m = req->method ? req->method : "";
    const char *source;
    char at[40], why[128];

    switch (route) {
    case TR_ROUTE_NONE:
        tr_response_error(resp, 404, "not found");
        return 0;
    case TR_ROUTE_TEST:
        if (strcmp(m, "HEAD") == 0) {
            resp->status = 200;
            return 0;
        }
        if (strcmp(m, "GET") != 0) {
            resp->allow = "GET, HEAD";
            tr_response_error(resp, 405, "method not allowed");
            return 0;
        }
        answer_test(h, resp);
        return 0;
    case TR_ROUTE_ADMIN_LOGS:
        tr_admin_answer(h, TR_ADMIN_LOGS, req, resp);
        return 0;
    case TR_ROUTE_ADMIN_STATS:
        tr_admin_answer(h, TR_ADMIN_STATS, req, resp);
        return 0;
    case TR_ROUTE_ADMIN_NOTIFICATIONS:
        tr_admin_answer(h, TR_ADMIN_NOTIFICATIONS, req, resp);
        return 0;
    case TR_ROUTE_TRAFFIC:
    case TR_ROUTE_UNIFIED:
        break;
    }
    source = route == TR_ROUTE_UNIFIED ? TR_SOURCE_UNIFIED : TR_SOURCE_TRAFFIC;
    if (strcmp(m, "HEAD") == 0) {
        resp->status = 200;
        return 0;
    }
    if (strcmp(m, "POST") != 0) {
        resp->allow = "POST, HEAD";
        tr_response_error(resp, 405, "method not allowed");
        return 0;
    }
    received_text(req, at, sizeof(at));
    if (h->cfg->webhook_secret != NULL &&
        !token_ok(req->query, h->cfg->webhook_secret)) {
        log_error(h, source, "request", "missing or wrong webhook token", NULL,
                  0, req->request_id, at);
        tr_response_error(resp, 403, "forbidden");
        return 0;
    }
    if (tr_body_type_of(req->content_type) == TR_BODY_UNSUPPORTED) {
        snprintf(why, sizeof(why), "unsupported content type \"%.60s\"",
                 req->content_type ? req->content_type : "");
        log_error(h, source, "request", why, NULL, 0, req->request_id, at);
        snprintf(resp->error, sizeof(resp->error), "%s", why);
        tr_response_error(resp, 415, "unsupported content type: send "
                                "application/x-www-form-urlencoded or "
                                "application/json");
        return 0;
    }
    if (req->content_length < 0) {
        tr_response_error(resp, 411, "content-length required");
        return 0;
    }
    if ((unsigned long long)req->content_length > h->limits.max_bytes) {
        snprintf(why, sizeof(why), "body of %lld bytes over the %zu limit",
                 req->content_length, h->limits.max_bytes);
        log_error(h, source, "request", why, NULL, 0, req->request_id, at);
        snprintf(resp->error, sizeof(resp->error), "%s", why);
        tr_response_error(resp, 413, "body too large");
        return 0;
    }
    if (req->content_length == 0) {
        log_error(h, source, "request", "empty body", NULL, 0,
                  req->request_id, at);
        tr_response_error(resp, 400, "empty body");
        return 0;
    }
    return 1;
}

static void
summarize(struct tr_results *res, const struct tr_item *it)
{
    size_t len = strlen(res->summary);

    if (len + 48 >= sizeof(res->summary)) {
        if (strcmp(res->summary + len - 3, "...") != 0)
            snprintf(res->summary + len, sizeof(res->summary) - len, " ...");
        return;
    }
    snprintf(res->summary + len, sizeof(res->summary) - len,
             "%s%" PRId64 ":%s", len ? " " : "", it->lead_id,
             tr_outcome_name(it->outcome));
}

static void
count(struct tr_results *res, const struct tr_item *it)
{
    res->total++;
    switch (it->outcome) {
    case TR_OUT_SUCCESS:
        res->processed++;
        if (res->nnew < sizeof(res->new_leads) / sizeof(res->new_leads[0]))
            res->new_leads[res->nnew++] = it->lead_id;
        break;
    case TR_OUT_DUPLICATE:
        res->duplicates++;
        break;
    case TR_OUT_SKIPPED:
        res->skipped++;
        break;
    case TR_OUT_IGNORED:
        res->ignored++;
        break;
    case TR_OUT_ERROR:
        res->errors++;
        break;
    }
    summarize(res, it);
}

/*
 * The unified endpoint's routing of a sale: referral (utm_source starts
 * with "ref_"), traffic (a targetologist matched), unknown (UTM, but no
 * match), both (no UTM at all: a sale and a conversion).
 */
static void
route_sale(const struct tr_rules *rules, const struct tr_lead *l,
           struct tr_item *it)
{
    const char *src = l->utm.v[TR_UTM_SOURCE];
    int k, any = 0;

    for (k = 0; k < TR_UTM_N; k++)
        any |= l->utm.v[k] != NULL && l->utm.v[k][0] != '\0';
    if (src != NULL && strncasecmp(src, "ref_", 4) == 0) {
        it->routing = "referral";
        it->is_sale = 0;
        it->conversion = 1;
        it->referral_code = src;
    } else if (it->rule != &rules->fallback) {
        it->routing = "traffic";
    } else if (any) {
        it->routing = "unknown";
    } else {
        it->routing = "both";
        it->conversion = 1;
    }
}

/* Decides what one lead is: a sale, skipped, ignored or an error. */
static void
classify(struct tr_handler *h, enum tr_endpoint ep, const struct tr_lead *l,
         struct tr_item *it)
{
    const struct tr_config *cfg = h->cfg;

    it->event = l->event;
    it->lead_id = l->id;
    it->lead = l;
    switch (l->kind) {
    case TR_LEAD_INVALID:
        it->outcome = TR_OUT_ERROR;
        snprintf(it->reason, sizeof(it->reason), "%s", l->error);
        return;
    case TR_LEAD_IGNORED:
        it->outcome = TR_OUT_IGNORED;
        snprintf(it->reason, sizeof(it->reason), "%s events are not sales",
                 l->event);
        return;
    case TR_LEAD_CANDIDATE:
        break;
    }
    it->outcome = TR_OUT_SKIPPED;
    if (l->pipeline_id == 0) {
        snprintf(it->reason, sizeof(it->reason), "no pipeline_id");
    } else if (l->pipeline_id != cfg->pipeline_id) {
        snprintf(it->reason, sizeof(it->reason),
                 "pipeline_id %" PRId64 " is not %" PRId64, l->pipeline_id,
                 cfg->pipeline_id);
    } else if (l->status_id == 0) {
        snprintf(it->reason, sizeof(it->reason), "no status_id");
    } else if (l->status_id != cfg->status_id) {
        snprintf(it->reason, sizeof(it->reason),
                 "status_id %" PRId64 " is not %" PRId64, l->status_id,
                 cfg->status_id);
    } else if (l->price_error != NULL) {
        it->outcome = TR_OUT_ERROR;
        snprintf(it->reason, sizeof(it->reason), "%s", l->price_error);
    } else {
        it->outcome = TR_OUT_SUCCESS;
        it->is_sale = 1;
        it->rule = tr_rules_match(h->rules, l->utm.v[TR_UTM_CAMPAIGN],
                                  l->utm.v[TR_UTM_SOURCE]);
        it->routing = "traffic";
        if (ep == TR_EP_UNIFIED)
            route_sale(h->rules, l, it);
    }
}

/* With AMOCRM_DOMAIN set, a body from another account is refused. */
static enum tr_err
check_account(const struct tr_config *cfg, struct json_object *tree,
              char *msg, size_t msgsz)
{
    struct json_object *acc, *sub;
    const char *s;

    if (cfg->amocrm_domain == NULL)
        return TR_OK;
    if (!json_object_object_get_ex(tree, "account", &acc) ||
        !json_object_object_get_ex(acc, "subdomain", &sub) ||
        !json_object_is_type(sub, json_type_string))
        return tr_fail(msg, msgsz, TR_EDENIED, "no account[subdomain]: "
                       "AMOCRM_DOMAIN is %s", cfg->amocrm_domain);
    s = json_object_get_string(sub);
    if (strcasecmp(s, cfg->amocrm_domain) != 0)
        return tr_fail(msg, msgsz, TR_EDENIED, "account[subdomain] \"%.64s\" "
                       "is not AMOCRM_DOMAIN %s", s, cfg->amocrm_domain);
    return TR_OK;
}

enum tr_err
tr_handler_process(struct tr_handler *h, enum tr_endpoint ep,
                   enum tr_body_type type,
                   const char *body, size_t len, const char *request_id,
                   const char *received_at, int dry_run,
                   struct tr_results *res, char *msg, size_t msgsz)
{
    struct json_object *tree = NULL;
    struct tr_leads leads;
    struct tr_delivery d;
    struct tr_item *items = NULL;
    struct tr_buf logbody;
    char base[300];
    size_t i, n;
    enum tr_err err;

    memset(res, 0, sizeof(*res));
    memset(&d, 0, sizeof(d));
    d.source = ep == TR_EP_UNIFIED ? TR_SOURCE_UNIFIED : TR_SOURCE_TRAFFIC;
    tr_leads_init(&leads);
    tr_buf_init(&logbody, TR_LOG_BODY_MAX + 64);

    err = tr_body_parse(type, body, len, &h->limits, &tree, msg, msgsz);
    if (err == TR_OK)
        err = check_account(h->cfg, tree, msg, msgsz);
    if (err == TR_OK)
        err = tr_leads_extract(&leads, tree, &h->cfg->utm_map, TR_LEADS_MAX,
                               msg, msgsz);
    if (err != TR_OK) {
        if (!dry_run)
            log_error(h, d.source, "body", msg, body, len, request_id,
                      received_at);
        res->total = res->errors = 1;
        goto out;
    }

    n = leads.n ? leads.n : 1;
    if ((items = calloc(n, sizeof(*items))) == NULL) {
        err = tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < leads.n; i++)
        classify(h, ep, &leads.v[i], &items[i]);
    if (leads.n == 0) {
        items[0].outcome = TR_OUT_IGNORED;
        items[0].event = leads.ignored_what[0] ? leads.ignored_what : "none";
        snprintf(items[0].reason, sizeof(items[0].reason),
                 "no leads in the body");
    }

    d.request_id = request_id;
    snprintf(d.received_at, sizeof(d.received_at), "%s", received_at);
    if (tr_config_account_base(h->cfg, leads.account_self, base,
                               sizeof(base)))
        d.amocrm_base = base;
    tr_store_sanitize(&logbody, body, len, TR_LOG_BODY_MAX);
    d.log_body = logbody.data ? logbody.data : "";
    d.items = items;
    d.nitems = n;
    if (!dry_run && (err = tr_store_save(h->store, &d, msg, msgsz)) != TR_OK)
        goto out;
    for (i = 0; i < n; i++)
        count(res, &items[i]);
    if (leads.n > 0)
        res->ignored += leads.ignored, res->total += leads.ignored;
out:
    free(items);
    tr_leads_release(&leads);
    json_object_put(tree);
    tr_buf_release(&logbody);
    return err;
}

/*
 * Nothing could be committed: the request goes to the spool and AmoCRM
 * still gets its 200; only when that fails too is the answer 503 (AmoCRM
 * then retries).
 */
static void
spool(struct tr_handler *h, enum tr_endpoint ep, const struct tr_request *req,
      const char *at, const char *dberr, struct tr_response *resp)
{
    struct tr_spool_entry e;
    char why[512];

    e.endpoint = ep;
    e.content_type = req->content_type;
    e.request_id = req->request_id;
    e.received_at = at;
    e.body = req->body;
    e.body_len = req->body_len;
    if (tr_spool_write(h->cfg->spool_dir, &e, req->received_sec,
                       req->received_nsec, why, sizeof(why)) != TR_OK) {
        snprintf(resp->error, sizeof(resp->error), "%.200s; spool: %.200s",
                 dberr, why);
        tr_response_error(resp, 503, "could not store the delivery; retry later");
        return;
    }
    snprintf(resp->error, sizeof(resp->error), "%.200s; spooled", dberr);
    resp->status = 200;
    tr_buf_adds(&resp->body, "{\"success\":true,\"queued\":true}");
}

void
tr_handler_finish(struct tr_handler *h, struct tr_request *req,
                  struct tr_response *resp)
{
    struct tr_results *r = &resp->results;
    enum tr_endpoint ep = tr_handler_route(req->path) == TR_ROUTE_UNIFIED
                              ? TR_EP_UNIFIED : TR_EP_TRAFFIC;
    char at[40], msg[256];
    enum tr_err err;

    received_text(req, at, sizeof(at));
    if (req->body_short) {
        log_error(h, ep == TR_EP_UNIFIED ? TR_SOURCE_UNIFIED
                                         : TR_SOURCE_TRAFFIC,
                  "request", "body shorter than content-length", NULL, 0,
                  req->request_id, at);
        tr_response_error(resp, 400, "body shorter than content-length");
        return;
    }
    err = tr_handler_process(h, ep, tr_body_type_of(req->content_type),
                             req->body, req->body_len, req->request_id, at,
                             0, r, msg, sizeof(msg));
    switch (err) {
    case TR_OK:
        break;
    case TR_EINVAL:
        snprintf(resp->error, sizeof(resp->error), "%s", msg);
        tr_response_error(resp, 400, msg);
        return;
    case TR_ETOOBIG:
        snprintf(resp->error, sizeof(resp->error), "%s", msg);
        tr_response_error(resp, 413, msg);
        return;
    case TR_EDENIED:
        snprintf(resp->error, sizeof(resp->error), "%s", msg);
        tr_response_error(resp, 403, "forbidden: not the configured account");
        return;
    default:
        spool(h, ep, req, at, msg, resp);
        return;
    }
    resp->status = 200;
    tr_buf_addf(&resp->body,
                "{\"success\":true,\"results\":{\"total\":%zu,"
                "\"processed\":%zu,\"duplicates\":%zu,\"skipped\":%zu,"
                "\"ignored\":%zu,\"errors\":%zu}}",
                r->total, r->processed, r->duplicates, r->skipped, r->ignored,
                r->errors);
}
