/*
 * admin.c: the admin endpoints: authorisation, filters, one query each.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "db/rows.h"
#include "observe/admin.h"
#include "base/config.h"
#include "base/secret.h"
#include "base/num.h"
#include "base/request.h"
#include "sql.h"
#include "db/store.h"
#include "base/text.h"

/* The filters of a request, checked; NULL where absent. */
struct filters {
    char limit[24], lead[24], st[32], rt[32], src[64];
    const char *status, *routing, *source;
};

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
    if (strspn(buf, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(buf))
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

int
tr_admin_allowed(const struct tr_config *cfg, const struct tr_request *req,
                 int basic, struct tr_response *resp)
{
    const char *a = req->authorization, *colon;
    char plain[512];
    long n;

    if (req->trusted)
        return 1;
    if (cfg->admin_token == NULL) {
        tr_response_error(resp, 404, "not found");
        return 0;
    }
    if (a != NULL && strncmp(a, "Bearer ", 7) == 0) {
        if (tr_secret_equal(a + 7, cfg->admin_token))
            return 1;
        tr_response_error(resp, 403, "forbidden");
        return 0;
    }
    /* a browser: any user name, the token as the password */
    /* a NUL inside ("TOKEN\0more") would end the password early: the
     * decoded length must be the string's */
    if (basic && a != NULL && strncmp(a, "Basic ", 6) == 0 &&
        (n = tr_text_base64_decode(a + 6, plain, sizeof(plain))) >= 0 &&
        strlen(plain) == (size_t)n && (colon = strchr(plain, ':')) != NULL &&
        tr_secret_equal(colon + 1, cfg->admin_token))
        return 1;
    resp->www_authenticate =
        basic ? "Basic realm=\"traffic-webhook\", charset=\"UTF-8\"" : "Bearer";
    tr_response_error(resp, 401, "authorization required");
    return 0;
}

/* Reads and checks the filters of query into f; answers 400 if bad. */
static int
filters(enum tr_admin_what what, const char *query, struct filters *f,
        struct tr_response *resp)
{
    static const char *const statuses[] = {"success", "duplicate", "skipped",
                                           "ignored", "error",     NULL};
    static const char *const routings[] = {"traffic", "referral", "unknown",
                                           "both", NULL};
    static const char *const outbox[] = {"pending", "sent", "failed",
                                         "disabled", NULL};
    int64_t v;

    snprintf(f->limit, sizeof(f->limit), "%d", TR_ADMIN_LIMIT_DEFAULT);
    if (tr_query_param(query, "limit", f->limit, sizeof(f->limit)) < 0 ||
        tr_parse_id(f->limit, &v) != 0) {
        tr_response_error(resp, 400, "limit must be a positive integer");
        return 0;
    }
    snprintf(f->limit, sizeof(f->limit), "%lld",
             (long long)(v < TR_ADMIN_LIMIT_MAX ? v : TR_ADMIN_LIMIT_MAX));
    f->lead[0] = '\0';
    if (tr_query_param(query, "lead_id", f->lead, sizeof(f->lead)) < 0 ||
        (f->lead[0] != '\0' && tr_parse_id(f->lead, &v) != 0)) {
        tr_response_error(resp, 400, "lead_id must be a deal id");
        return 0;
    }
    if (word(query, "status", f->st, sizeof(f->st), &f->status) != 0 ||
        word(query, "routing", f->rt, sizeof(f->rt), &f->routing) != 0 ||
        word(query, "source", f->src, sizeof(f->src), &f->source) != 0 ||
        !one_of(f->status,
                what == TR_ADMIN_NOTIFICATIONS ? outbox : statuses) ||
        !one_of(f->routing, routings)) {
        tr_response_error(resp, 400, "unknown filter value");
        return 0;
    }
    return 1;
}

void
tr_admin_answer(const struct tr_config *cfg, struct tr_store *store,
                enum tr_admin_what what, const struct tr_request *req,
                struct tr_response *resp)
{
    const char *m = req->method ? req->method : "";
    const char *p[5], *sql;
    struct filters f;
    char msg[256];
    struct tr_rows *res;
    int np;

    if (cfg->admin_token == NULL && !req->trusted) {
        tr_response_error(resp, 404, "not found");
        return;
    }
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
        resp->allow = "GET, HEAD";
        tr_response_error(resp, 405, "method not allowed");
        return;
    }
    if (!tr_admin_allowed(cfg, req, 0, resp) ||
        !filters(what, req->query, &f, resp))
        return;
    switch (what) {
    case TR_ADMIN_LOGS:
        sql = tr_sql_admin_logs;
        p[0] = f.limit;
        p[1] = f.status;
        p[2] = f.routing;
        p[3] = f.lead[0] ? f.lead : NULL;
        p[4] = f.source;
        np = 5;
        break;
    case TR_ADMIN_STATS:
        sql = tr_sql_admin_stats;
        p[0] = f.source;
        np = 1;
        break;
    default:
        sql = tr_sql_admin_notifications;
        p[0] = f.limit;
        p[1] = f.status;
        np = 2;
        break;
    }
    if ((res = tr_store_query(store, sql, np, p, msg, sizeof(msg))) == NULL) {
        snprintf(resp->error, sizeof(resp->error), "%s", msg);
        tr_response_error(resp, 503, "database unavailable");
        return;
    }
    resp->status = 200;
    if (tr_buf_adds(&resp->body, tr_rows_text(res, 0, "answer")) != TR_OK)
        tr_response_error(resp, 500, "answer too large");
    tr_rows_free(res);
}
