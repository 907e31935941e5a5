/*
 * notify.h: Telegram notifications out of the outbox.
 *
 * A new sale's transaction leaves one notification_outbox row per configured
 * chat.  tr_notify_deliver claims due rows (one chat at a time, with a
 * lease, so two processes never send the same row and a row whose sender
 * died is taken again once the lease ends), renders the sale's message,
 * sends it and records the outcome with traffic_outbox_record (sql/002),
 * which also paces the chat.  Workers call it right after answering AmoCRM;
 * the traffic-ctl deliver sidecar calls it in a loop for retries and for
 * what pacing held back.
 */
#ifndef TR_NOTIFY_H
#define TR_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "telegram.h"

struct tr_config;
struct tr_store;

struct tr_notify_stats {
    size_t sent, retried, failed;
};

struct tr_notify {
    const struct tr_config *cfg;
    struct tr_store *store;
    struct tr_telegram tg;
    int enabled;                /* a bot token and at least one chat */
    int chats_known;            /* the configured chats are in the table */
    /* one line per message outcome; the token never appears in it */
    void (*log)(void *arg, const char *line);
    void *log_arg;
};

/*
 * Fills n for cfg and store (kept, not owned); log may be NULL.
 * TR_ENOMEM.
 */
enum tr_err tr_notify_init(struct tr_notify *n, const struct tr_config *cfg,
                           struct tr_store *store,
                           void (*log)(void *arg, const char *line),
                           void *log_arg);

/* Frees what n owns. */
void tr_notify_release(struct tr_notify *n);

/*
 * Claims, sends and records due messages, at most max of them, and adds
 * their outcomes to st: only those of the (at most 8) leads given (a
 * worker's new sales), or with leads NULL any due message, the chats of
 * pending rows no longer configured included (the sidecar).  TR_EDB /
 * TR_EDBDOWN when the outbox cannot be read or written.
 */
enum tr_err tr_notify_deliver(struct tr_notify *n, size_t max,
                              const int64_t *leads, size_t nleads,
                              struct tr_notify_stats *st, char *msg,
                              size_t msgsz);

/*
 * Makes n's store hold, in each new sale's own transaction, its messages
 * to the chats that are free (a worker, which sends them right after
 * answering AmoCRM): a claim without a round trip of its own.
 */
void tr_notify_hold(struct tr_notify *n);

/*
 * Sends and records the messages the last tr_store_save held, and forgets
 * them.  TR_EDB / TR_EDBDOWN when an outcome cannot be recorded (the row
 * goes out again after its lease).
 */
enum tr_err tr_notify_send_held(struct tr_notify *n,
                                struct tr_notify_stats *st, char *msg,
                                size_t msgsz);

/*
 * Makes every pending message due now (the operator fixed Telegram and
 * wants no more backoff); pacing and messages in flight are kept.  *rows
 * gets how many were waiting.
 */
enum tr_err tr_notify_retry_now(struct tr_notify *n, long *rows, char *msg,
                                size_t msgsz);

/*
 * Queues lead_id's message again for every configured chat, whatever
 * happened to it before (the operator's resend): *rows gets the number of
 * chats.  TR_EINVAL when no sale is stored for lead_id.
 */
enum tr_err tr_notify_resend(struct tr_notify *n, int64_t lead_id, long *rows,
                             char *msg, size_t msgsz);

/*
 * What is still pending: *due the messages whose own time has come (held
 * back only by a chat's pacing or a lease), *pending all of them, *wait the
 * seconds until the next one can go (0 when one can go now; -1 without
 * pending messages).
 */
enum tr_err tr_notify_pending(struct tr_notify *n, long *due, long *pending,
                              double *wait, char *msg, size_t msgsz);

/*
 * Counts the outbox rows that are pending and failed (for traffic-ctl
 * check).
 */
enum tr_err tr_notify_counts(struct tr_store *store, long *pending,
                             long *failed, char *msg, size_t msgsz);

/*
 * Renders the message of lead_id's stored sale (HTML when html) into a new
 * string (free() it); *status, when not NULL, gets its notification_status
 * (free() it).  TR_EINVAL when no sale is stored for lead_id.
 */
enum tr_err tr_notify_render(struct tr_store *store, int64_t lead_id,
                             int html, char **text, char **status,
                             char *msg, size_t msgsz);

#endif
