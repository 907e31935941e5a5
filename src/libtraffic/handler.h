/*
 * handler.h: what the service does with one HTTP request, whatever carried
 * it (FastCGI, CGI, a replayed file).
 *
 * The program fills a struct tr_request from its transport and calls
 * tr_handler_begin, which routes on the request path (by suffix, so any
 * nginx prefix works) and checks method, content type and length.  When it
 * returns 1 the program reads exactly content_length bytes into req->body and
 * calls tr_handler_finish, which parses, filters, matches and stores the
 * delivery in one transaction before the answer is built.  The answer (status
 * and JSON) is in the struct tr_response either way.
 */
#ifndef TR_HANDLER_H
#define TR_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "body.h"
#include "buf.h"
#include "err.h"

struct tr_config;
struct tr_rules;
struct tr_store;

#define TR_VERSION "1.0.0"
#define TR_SOURCE_TRAFFIC "amocrm_traffic"
#define TR_SOURCE_UNIFIED "amocrm"

enum tr_route {
    TR_ROUTE_NONE,
    TR_ROUTE_TRAFFIC,       /* POST, HEAD /webhook/amocrm/traffic */
    TR_ROUTE_TEST,          /* GET, HEAD  /webhook/amocrm/traffic/test */
    TR_ROUTE_UNIFIED,       /* POST, HEAD /webhook/amocrm */
    TR_ROUTE_ADMIN_LOGS,    /* GET /api/admin/webhook-logs */
    TR_ROUTE_ADMIN_STATS,   /* GET /api/admin/webhook-logs/stats */
    TR_ROUTE_ADMIN_NOTIFICATIONS,   /* GET /api/admin/notifications */
};

/*
 * Which webhook a body came to: the traffic endpoint stores every sale for
 * the Traffic Dashboard; the unified one routes each sale (referral,
 * traffic, unknown, both) and records referral conversions.
 */
enum tr_endpoint {
    TR_EP_TRAFFIC,
    TR_EP_UNIFIED,
};

struct tr_request {
    const char *method;
    const char *path;           /* without the query string */
    const char *query;          /* NULL or "" when none */
    const char *content_type;
    long long content_length;   /* -1 when missing or unparsable */
    const char *request_id;     /* X-AmoCRM-RequestId, or NULL */
    const char *authorization;  /* the Authorization header, or NULL */
    const char *body;           /* set by the program before finish */
    size_t body_len;
    int body_short;             /* the client sent less than announced */
    long long received_sec;     /* CLOCK_REALTIME at arrival */
    long received_nsec;
};

struct tr_results {
    size_t total, processed, duplicates, skipped, ignored, errors;
    char summary[256];          /* "25123456:success 25123459:skipped" */
    int64_t new_leads[8];       /* the first new sales' lead ids */
    size_t nnew;
};

struct tr_response {
    int status;
    const char *allow;          /* the Allow header of a 405 */
    const char *www_authenticate;   /* the WWW-Authenticate of a 401 */
    struct tr_buf body;         /* JSON, or empty for HEAD */
    struct tr_results results;
    char error[512];            /* the detail behind an error answer */
};

struct tr_handler {
    const struct tr_config *cfg;
    const struct tr_rules *rules;
    struct tr_store *store;
    struct tr_body_limits limits;
};

/* Fills h; it keeps (does not own) cfg, rules and store. */
void tr_handler_init(struct tr_handler *h, const struct tr_config *cfg,
                     const struct tr_rules *rules, struct tr_store *store);

void tr_response_init(struct tr_response *resp);
void tr_response_release(struct tr_response *resp);

/*
 * A JSON error answer {"success":false,"error":error} with status; the
 * detail for the request log stays in resp->error.
 */
void tr_response_error(struct tr_response *resp, int status,
                       const char *error);

/*
 * Copies the percent-decoded value of key in a query string ("a=1&b=2")
 * into buf.  Returns 1 when found, 0 when absent, -1 when it does not fit
 * or holds a NUL.
 */
int tr_query_param(const char *query, const char *key, char *buf,
                   size_t bufsz);

/* The route of a request path ("/x/webhook/amocrm/traffic/" counts). */
enum tr_route tr_handler_route(const char *path);

/* The reason phrase of an HTTP status ("Not Found"). */
const char *tr_handler_reason(int status);

/*
 * Routes and checks req.  Returns 1 when the program must read the body
 * (req->content_length bytes, never more than the configured maximum) and
 * call tr_handler_finish; 0 when resp holds the complete answer.
 */
int tr_handler_begin(struct tr_handler *h, struct tr_request *req,
                     struct tr_response *resp);

/*
 * Processes the body read after tr_handler_begin returned 1.  When nothing
 * can be committed the request is spooled (SPOOL_DIR) and still answered
 * 200 with "queued":true; 503 only if the spool fails too.
 */
void tr_handler_finish(struct tr_handler *h, struct tr_request *req,
                       struct tr_response *resp);

/*
 * Parses, filters, matches and stores one webhook body (as the traffic
 * endpoint and traffic-ctl replay do), counting outcomes in res.  With
 * dry_run nothing is stored.  TR_EINVAL / TR_ETOOBIG for a bad body (its
 * error row is logged), TR_EDB / TR_EDBDOWN when nothing could be stored.
 */
enum tr_err tr_handler_process(struct tr_handler *h, enum tr_endpoint ep,
                               enum tr_body_type type,
                               const char *body, size_t len,
                               const char *request_id,
                               const char *received_at, int dry_run,
                               struct tr_results *res, char *msg,
                               size_t msgsz);

#endif
