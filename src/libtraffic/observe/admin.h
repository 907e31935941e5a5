/*
 * admin.h: the operators' read-only API, behind ADMIN_TOKEN.
 *
 *     GET /api/admin/webhook-logs?limit=&status=&routing=&lead_id=&source=
 *     GET /api/admin/webhook-logs/stats[?source=]
 *     GET /api/admin/notifications?status=pending|failed|sent|disabled
 *
 * Only with "Authorization: Bearer <ADMIN_TOKEN>" (compared in constant
 * time): none gives 401, a wrong one 403; without ADMIN_TOKEN configured
 * the endpoints do not exist (404).  Answers use the seed's column names,
 * newest first, at most TR_ADMIN_LIMIT_MAX rows, and never the client's
 * phone or e-mail (nor raw bodies).  PostgreSQL builds the JSON.
 */
#ifndef TR_ADMIN_H
#define TR_ADMIN_H

struct tr_config;
struct tr_request;
struct tr_response;
struct tr_store;

#define TR_ADMIN_LIMIT_DEFAULT 50
#define TR_ADMIN_LIMIT_MAX 500

enum tr_admin_what {
    TR_ADMIN_LOGS,
    TR_ADMIN_STATS,
    TR_ADMIN_NOTIFICATIONS,
};

/*
 * Whether req may see the admin pages: ADMIN_TOKEN as a Bearer token, or
 * with basic as the password of HTTP Basic auth (a browser; any user
 * name); or nginx marked the client trusted (TRAFFIC_ADMIN_TRUSTED 1 in an
 * allow-listed location).  Else resp holds the answer: 404 without
 * ADMIN_TOKEN, 401 (with WWW-Authenticate) without credentials or with
 * wrong Basic ones, 403 with a wrong Bearer token.
 */
int tr_admin_allowed(const struct tr_config *cfg, const struct tr_request *req,
                     int basic, struct tr_response *resp);

/* Answers one admin request (any method: only GET and HEAD are served). */
void tr_admin_answer(const struct tr_config *cfg, struct tr_store *store,
                     enum tr_admin_what what, const struct tr_request *req,
                     struct tr_response *resp);

#endif
