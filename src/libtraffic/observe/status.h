/*
 * status.h: GET /admin/, the status page for the team and the admin.
 *
 * Server-rendered HTML in Russian, styles inline, no script and no outside
 * asset, readable on a phone: today's, this week's and this month's sales
 * per targetologist (count and amount, with inline SVG bar charts, Unknown
 * included) in the team's time zone (DIGEST_TZ), the last 20 sales with
 * their message's state, and the health of delivery: the last webhook,
 * deliveries without error over 24 hours, messages waiting and failed
 * (with Telegram's reasons), the spool, AmoCRM's webhook, the alerts.
 * Every CRM string is escaped.  Behind ADMIN_TOKEN as the password of HTTP
 * Basic auth (a browser asks for it), a Bearer token, or an nginx
 * allow-list.  Each query reads an index, so a year of data answers fast.
 */
#ifndef TR_STATUS_H
#define TR_STATUS_H

struct tr_config;
struct tr_request;
struct tr_response;
struct tr_rules;
struct tr_store;

/* Answers GET /admin/. */
void tr_status_answer(const struct tr_config *cfg, const struct tr_rules *rules,
                      struct tr_store *store, const struct tr_request *req,
                      struct tr_response *resp);

#endif
