/*
 * request.h: one HTTP request and its answer, whatever carried them
 * (FastCGI, CGI, a test), and the reading of a query string.
 *
 * The program fills a struct tr_request from its transport; the router
 * (router.h) fills the struct tr_response: a status, the headers that go
 * with it, a JSON body.  The program writes that back.
 */
#ifndef TR_REQUEST_H
#define TR_REQUEST_H

#include <stddef.h>

#include "base/buf.h"

#define TR_RESPONSE_MAX (1024 * 1024) /* admin answers are the largest */

struct tr_request {
    const char *method;
    const char *path;  /* without the query string */
    const char *query; /* NULL or "" when none */
    const char *content_type;
    long long content_length;  /* -1 when missing or unparsable */
    const char *request_id;    /* X-AmoCRM-RequestId, or NULL */
    const char *authorization; /* the Authorization header, or NULL */
    int trusted;               /* nginx lets this client see the admin
                                * pages (TRAFFIC_ADMIN_TRUSTED) */
    const char *token;         /* the webhook secret nginx took from the
                                * path (TRAFFIC_WEBHOOK_TOKEN), or NULL */
    const char *body;          /* set by the program before finish */
    size_t body_len;
    int body_short;         /* the client sent less than announced */
    int unauthenticated;    /* a wrong webhook token: the body is read
                             * only for its log rows (tr_router_finish) */
    int route;              /* enum tr_route, set once by tr_router_begin */
    long long received_sec; /* CLOCK_REALTIME at arrival */
    long received_nsec;
};

struct tr_response {
    int status;
    const char *allow;            /* the Allow header of a 405 */
    const char *www_authenticate; /* the WWW-Authenticate of a 401 */
    const char *content_type;     /* NULL: application/json */
    struct tr_buf body;           /* JSON, or empty for HEAD */
    char error[512];              /* the detail behind an error answer */
};

void tr_response_init(struct tr_response *resp);
void tr_response_release(struct tr_response *resp);

/*
 * A JSON error answer {"success":false,"error":error} with status; the
 * detail for the request log stays in resp->error (error itself when none
 * was set).
 */
void tr_response_error(struct tr_response *resp, int status, const char *error);

/* The reason phrase of an HTTP status ("Not Found"). */
const char *tr_response_reason(int status);

/*
 * Copies the percent-decoded value of key in a query string ("a=1&b=2")
 * into buf.  Returns 1 when found, 0 when absent, -1 when it does not fit
 * or holds a NUL.
 */
int tr_query_param(const char *query, const char *key, char *buf, size_t bufsz);

#endif
