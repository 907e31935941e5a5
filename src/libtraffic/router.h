/*
 * router.h: what the service does with one HTTP request: the top of the
 * core, shared by the FastCGI program and its one-shot CGI mode.
 *
 * The program fills a struct tr_request from its transport and calls
 * tr_router_begin, which routes on the request path (by suffix, so any
 * nginx prefix works) and answers everything but a webhook delivery
 * itself: the test endpoint, the admin API (admin.h), HEAD, a wrong
 * method, token, content type or length, each refusal with its log row.
 * When it returns 1 the program reads exactly content_length bytes into
 * req->body and calls tr_router_finish, which runs the pipeline
 * (pipeline.h) and, when nothing could be committed, spools the request
 * (spool.h) and still answers 200 "queued"; 503 only if that fails too.
 */
#ifndef TR_ROUTER_H
#define TR_ROUTER_H

#include "observe/health.h"
#include "intake/pipeline.h"
#include "base/request.h"

struct tr_config;
struct tr_rules;
struct tr_store;

/* TR_VERSION: debian/changelog's, through configure (AM_CPPFLAGS) */

enum tr_route {
    TR_ROUTE_NONE,
    TR_ROUTE_TRAFFIC,             /* POST, HEAD /webhook/amocrm/traffic */
    TR_ROUTE_TEST,                /* GET, HEAD  /webhook/amocrm/traffic/test */
    TR_ROUTE_HEALTH,              /* GET, HEAD  .../traffic/health */
    TR_ROUTE_UNIFIED,             /* POST, HEAD /webhook/amocrm */
    TR_ROUTE_ADMIN_LOGS,          /* GET /api/admin/webhook-logs */
    TR_ROUTE_ADMIN_STATS,         /* GET /api/admin/webhook-logs/stats */
    TR_ROUTE_ADMIN_NOTIFICATIONS, /* GET /api/admin/notifications */
    TR_ROUTE_METRICS,             /* GET /metrics */
    TR_ROUTE_STATUS,              /* GET /admin/ */
};

struct tr_router {
    const struct tr_config *cfg;
    const struct tr_rules *rules;
    struct tr_store *store;
    struct tr_pipeline pipeline;
    struct tr_health_cache health; /* the test endpoint's last measure */
    struct {                       /* its answer but the timestamp */
        unsigned changes;          /* for this health (health.changes) */
        int health;                /* of .../health (1) or .../test (0) */
        int ok;                    /* success */
        char *head, *tail;         /* NULL: none yet */
    } test;
};

/* Fills r; it keeps (does not own) cfg, rules and store. */
void tr_router_init(struct tr_router *r, const struct tr_config *cfg,
                    const struct tr_rules *rules, struct tr_store *store);

/* Frees what r made (its test answer). */
void tr_router_release(struct tr_router *r);

/* The health as the test endpoint would answer it now (health.h): a
 * worker's first measure, refusal probe included, at its start. */
void tr_router_health(struct tr_router *r, struct tr_health *h);

/* The route of a request path ("/x/webhook/amocrm/traffic/" counts). */
enum tr_route tr_router_route(const char *path);

/*
 * Routes and checks req.  Returns 1 when the program must read the body
 * (req->content_length bytes, never more than the configured maximum) and
 * call tr_router_finish; 0 when resp holds the complete answer.
 */
int tr_router_begin(struct tr_router *r, struct tr_request *req,
                    struct tr_response *resp);

/*
 * Processes the body read after tr_router_begin returned 1 into resp; res
 * gets what the delivery did.  No message is claimed: the sidecar sends
 * them all (a request worker does no network work after answering).
 */
void tr_router_finish(struct tr_router *r, struct tr_request *req,
                      struct tr_response *resp, struct tr_results *res);

#endif
