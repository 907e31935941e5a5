/*
 * admin.c: the admin endpoints: authorisation, filters, one query each.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "config.h"
#include "handler.h"
#include "leads.h"
#include "store.h"

static const char logs_sql[] =
    "SELECT json_build_object('success', true, 'count', count(*),"
    " 'logs', coalesce(json_agg(l ORDER BY l.received_at DESC, l.id DESC),"
    " '[]'))::text FROM ("
    " SELECT id, received_at, source, event_type, lead_id, request_id,"
    "  routing_decision, processing_status, targetologist, skip_reason,"
    "  error_message"
    " FROM webhook_logs"
    " WHERE ($2::text IS NULL OR processing_status = $2)"
    "  AND ($3::text IS NULL OR routing_decision = $3)"
    "  AND ($4::bigint IS NULL OR lead_id = $4)"
    "  AND ($5::text IS NULL OR source = $5)"
    " ORDER BY received_at DESC, id DESC LIMIT $1::bigint) l";

static const char stats_sql[] =
    "WITH l AS (SELECT processing_status, routing_decision FROM webhook_logs"
    " WHERE $1::text IS NULL OR source = $1)"
    " SELECT json_build_object('success', true, 'total', (SELECT count(*)"
    "  FROM l), 'by_status', (SELECT coalesce(json_object_agg(s, n), '{}')"
    "  FROM (SELECT processing_status s, count(*) n FROM l GROUP BY 1) x),"
    " 'by_routing', (SELECT coalesce(json_object_agg(r, n), '{}') FROM"
    "  (SELECT coalesce(routing_decision, 'none') r, count(*) n FROM l"
    "  GROUP BY 1) y),"
    " 'success_rate', (SELECT round(100.0 * count(*) FILTER (WHERE"
    "  processing_status IN ('success', 'duplicate')) / nullif(count(*), 0),"
    "  1) FROM l))::text";

static const char notifications_sql[] =
    "SELECT json_build_object('success', true, 'count', count(*),"
    " 'notifications', coalesce(json_agg(n ORDER BY n.created_at DESC,"
    " n.id DESC), '[]'))::text FROM ("
    " SELECT o.id, o.lead_id, o.chat_id, o.thread_id, o.status, o.attempts,"
    "  o.next_attempt_at, o.last_error, o.telegram_message_id, o.sent_at,"
    "  o.created_at, s.targetologist, s.sale_amount, s.currency,"
    "  s.notification_status"
    " FROM notification_outbox o JOIN sales_notifications s"
    "  ON s.id = o.sale_id"
    " WHERE ($2::text IS NULL OR o.status = $2)"
    " ORDER BY o.created_at DESC, o.id DESC LIMIT $1::bigint) n";

/* A filter value made of [a-z0-9_.-] only, or NULL (absent / empty). */
static int
word(const char *query, const char *key, char *buf, size_t bufsz,
     const char **out)
{
    int r = tr_query_param(query, key, buf, bufsz);

    *out = NULL;
    if (r < 0)
        return -1;
    if (r == 0 || buf[0] == '\0')
        return 0;
    if (strspn(buf, "abcdefghijklmnopqrstuvwxyz0123456789_.-") !=
        strlen(buf))
        return -1;
    *out = buf;
    return 0;
}

static int
one_of(const char *v, const char *const *set)
{
    for (; v != NULL && *set != NULL; set++)
        if (strcmp(v, *set) == 0)
            return 1;
    return v == NULL;
}

/* Whether the request carries the admin token; answers 401/403 if not. */
static int
authorised(const struct tr_handler *h, const struct tr_request *req,
           struct tr_response *resp)
{
    const char *a = req->authorization;

    if (a == NULL || strncmp(a, "Bearer ", 7) != 0) {
        resp->www_authenticate = "Bearer";
        tr_response_error(resp, 401, "authorization required");
        return 0;
    }
    if (!tr_config_secret_equal(a + 7, h->cfg->admin_token)) {
        tr_response_error(resp, 403, "forbidden");
        return 0;
    }
    return 1;
}

void
tr_admin_answer(struct tr_handler *h, enum tr_admin_what what,
                const struct tr_request *req, struct tr_response *resp)
{
    static const char *const statuses[] = {"success", "duplicate", "skipped",
                                           "ignored", "error", NULL};
    static const char *const routings[] = {"traffic", "referral", "unknown",
                                           "both", NULL};
    static const char *const outbox[] = {"pending", "sent", "failed",
                                         "disabled", NULL};
    const char *m = req->method ? req->method : "";
    char limit[24], lead[24], st[32], rt[32], src[64], msg[256];
    const char *p[5], *sql, *status, *routing, *source;
    int64_t v;
    PGresult *res;
    int np;

    if (h->cfg->admin_token == NULL) {
        tr_response_error(resp, 404, "not found");
        return;
    }
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
        resp->allow = "GET, HEAD";
        tr_response_error(resp, 405, "method not allowed");
        return;
    }
    if (!authorised(h, req, resp))
        return;
    snprintf(limit, sizeof(limit), "%d", TR_ADMIN_LIMIT_DEFAULT);
    if (tr_query_param(req->query, "limit", limit, sizeof(limit)) < 0 ||
        tr_parse_id(limit, &v) != 0) {
        tr_response_error(resp, 400, "limit must be a positive integer");
        return;
    }
    snprintf(limit, sizeof(limit), "%lld",
             (long long)(v < TR_ADMIN_LIMIT_MAX ? v : TR_ADMIN_LIMIT_MAX));
    lead[0] = '\0';
    if (tr_query_param(req->query, "lead_id", lead, sizeof(lead)) < 0 ||
        (lead[0] != '\0' && tr_parse_id(lead, &v) != 0)) {
        tr_response_error(resp, 400, "lead_id must be a deal id");
        return;
    }
    if (word(req->query, "status", st, sizeof(st), &status) != 0 ||
        word(req->query, "routing", rt, sizeof(rt), &routing) != 0 ||
        word(req->query, "source", src, sizeof(src), &source) != 0 ||
        !one_of(status, what == TR_ADMIN_NOTIFICATIONS ? outbox : statuses) ||
        !one_of(routing, routings)) {
        tr_response_error(resp, 400, "unknown filter value");
        return;
    }
    switch (what) {
    case TR_ADMIN_LOGS:
        sql = logs_sql;
        p[0] = limit;
        p[1] = status;
        p[2] = routing;
        p[3] = lead[0] ? lead : NULL;
        p[4] = source;
        np = 5;
        break;
    case TR_ADMIN_STATS:
        sql = stats_sql;
        p[0] = source;
        np = 1;
        break;
    default:
        sql = notifications_sql;
        p[0] = limit;
        p[1] = status;
        np = 2;
        break;
    }
    if ((res = tr_store_query(h->store, sql, np, p, msg, sizeof(msg))) ==
        NULL) {
        snprintf(resp->error, sizeof(resp->error), "%s", msg);
        tr_response_error(resp, 503, "database unavailable");
        return;
    }
    resp->status = 200;
    if (tr_buf_adds(&resp->body, PQgetvalue(res, 0, 0)) != TR_OK)
        tr_response_error(resp, 500, "answer too large");
    PQclear(res);
}
