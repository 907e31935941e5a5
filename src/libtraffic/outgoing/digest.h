/*
 * digest.h: the daily summary, one message per sales chat and day.
 *
 * At DIGEST_AT in DIGEST_TZ the deliver sidecar queues each chat of
 * TELEGRAM_CHAT_IDS one summary of the day: per targetologist (the rules'
 * order, Unknown included) the sales and their amount, the total, the
 * reversals and price changes of the day, and the day before beside each.
 * It is an outbox row like any message (kind 'digest', its text in body),
 * so it is sent with the same pacing and retries, and its dedupe_key
 * ("digest:DAY:CHAT:THREAD") makes it exactly once per chat and day
 * whichever sidecar, on whichever host, queues it first.  A sidecar that was
 * away at DIGEST_AT queues it late, saying so (yesterday's too, never a day
 * before the install).  The numbers are the dashboard's: all_sales_tracking
 * by sale_date, so a reversed sale is out of them and counted as reversed.
 */
#ifndef TR_DIGEST_H
#define TR_DIGEST_H

#include <stddef.h>

#include "base/err.h"

struct tr_config;
struct tr_rules;
struct tr_store;

/*
 * Renders the summary of day ("YYYY-MM-DD", in DIGEST_TZ) into a new
 * string (free() it): HTML for Telegram when html, else plain text; late
 * says it comes after its time.  TR_EDB, TR_ENOMEM.
 */
enum tr_err tr_digest_render(struct tr_store *store,
                             const struct tr_config *cfg,
                             const struct tr_rules *rules, const char *day,
                             int late, int html, char **out, char *msg,
                             size_t msgsz);

/*
 * Queues day's summary for every sales chat that has none yet; with again,
 * also those whose summary failed or was given up (the operator's).  *rows
 * gets how many were queued.  TR_EDB, TR_ENOMEM.
 */
enum tr_err tr_digest_queue(struct tr_store *store, const struct tr_config *cfg,
                            const struct tr_rules *rules, const char *day,
                            int late, int again, long *rows, char *msg,
                            size_t msgsz);

/*
 * The sidecar's step: queues the summaries that are due and not queued
 * (today's once DIGEST_AT passed, yesterday's if it was missed); *rows gets
 * how many.  Nothing without DIGEST_AT or the sales chats.  TR_EDB.
 */
enum tr_err tr_digest_due(struct tr_store *store, const struct tr_config *cfg,
                          const struct tr_rules *rules, long *rows, char *msg,
                          size_t msgsz);

/* Today in DIGEST_TZ as "YYYY-MM-DD" into day (11 bytes).  TR_EDB. */
enum tr_err tr_digest_today(struct tr_store *store, const struct tr_config *cfg,
                            char *day, char *msg, size_t msgsz);

#endif
