/*
 * notify.h: sending claimed outbox messages to Telegram.
 *
 * A claimed message (outbox.h) is rendered (render.h), sent (telegram.h)
 * and its outcome recorded (tr_outbox_record): sent, retried with backoff
 * (429: exactly retry_after), failed for good, resent once as plain text
 * when Telegram cannot parse the HTML, or resent to the supergroup a group
 * became.  One line per outcome goes to the log; the token never does.
 */
#ifndef TR_NOTIFY_H
#define TR_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/log.h"
#include "outgoing/outbox.h"
#include "outgoing/telegram.h"

struct tr_config;
struct tr_store;

/* the outbox id past which a session's plans are first made again */
#define TR_NOTIFY_REPLAN_MIN 1024

struct tr_notify_stats {
    size_t sent, retried, failed;
};

struct tr_notify {
    const struct tr_config *cfg;
    struct tr_store *store;
    struct tr_telegram tg;
    struct tr_chat_lists chats;
    int enabled;        /* a bot token and at least one chat */
    int chats_known;    /* the configured chats are in the table */
    int64_t planned_at; /* the largest outbox id when plans were made again */
    struct tr_log log;
};

/* Fills n for cfg and store (kept, not owned).  TR_ENOMEM. */
enum tr_err tr_notify_init(struct tr_notify *n, const struct tr_config *cfg,
                           struct tr_store *store, const struct tr_log *log);

/* Frees what n owns. */
void tr_notify_release(struct tr_notify *n);

/*
 * Claims, sends and records due messages, at most max of them: only those
 * of the (at most TR_NEW_SALES_MAX) leads given, or with leads NULL any due
 * message, the chats of pending rows no longer configured included (the
 * sidecar).  TR_EDB / TR_EDBDOWN when the outbox cannot be read or written.
 */
enum tr_err tr_notify_deliver(struct tr_notify *n, size_t max,
                              const int64_t *leads, size_t nleads,
                              struct tr_notify_stats *st, char *msg,
                              size_t msgsz);

/*
 * Renders the message of lead_id's stored sale (HTML when html) into a new
 * string (free() it); *status, when not NULL, gets its notification_status
 * (free() it).  TR_EINVAL when no sale is stored for lead_id.
 */
enum tr_err tr_notify_render(struct tr_store *store, int64_t lead_id, int html,
                             char **text, char **status, char *msg,
                             size_t msgsz);

#endif
