/*
 * telegram.h: the Telegram Bot API's sendMessage and editMessageText, and
 * what their answers mean.
 *
 * A message goes to one chat (or forum topic) as HTML with link previews
 * off, possibly as a reply to an earlier one; or an earlier one is edited.
 * The answer is sorted into what the outbox must do next: sent (with
 * Telegram's message_id), retry (429 with retry_after, 5xx, no answer),
 * failed for good (chat not found, blocked, bad token, ...), resend as
 * plain text (Telegram could not parse the HTML), resend to the supergroup
 * the chat became, or for an edit, nothing to do.  The bot token is part of the
 * URL; it never appears in a description this module writes.
 */
#ifndef TR_TELEGRAM_H
#define TR_TELEGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/http.h"

enum tr_tg_outcome {
    TR_TG_SENT,     /* message_id is set */
    TR_TG_RETRY,    /* transient; retry_after > 0 when Telegram said */
    TR_TG_FAILED,   /* permanent: do not send again */
    TR_TG_PLAIN,    /* "can't parse entities": resend as plain text */
    TR_TG_MIGRATED, /* the group became migrate_to: resend there */
    TR_TG_MOOT,     /* an edit not needed or no longer possible: the text
                     * is unchanged, the message gone or too old (not an
                     * error) */
};

/* What to send. */
struct tr_tg_message {
    const char *chat; /* "-100123" or "@channel" */
    int64_t thread;   /* forum topic, 0: none */
    const char *text;
    int html;         /* HTML parse mode, else plain text */
    int64_t reply_to; /* a reply to this message_id, 0: none */
    int64_t edit;     /* edit this message_id instead, 0: send */
};

struct tr_tg_result {
    enum tr_tg_outcome outcome;
    long http_status; /* 0: no answer */
    int64_t message_id;
    long retry_after;      /* seconds */
    char migrate_to[24];   /* the supergroup's chat id */
    char description[256]; /* Telegram's, or why there was no answer */
};

struct tr_telegram {
    struct tr_http http;
    char *url;     /* {base}/bot{token}/, owned */
    size_t urllen; /* its length, before a method name */
    char *token;   /* owned, only to scrub messages */
    long timeout_ms;
};

/*
 * Fills tg for the API at base ("https://api.telegram.org") with token
 * (both copied).  TR_ENOMEM.
 */
enum tr_err tr_telegram_init(struct tr_telegram *tg, const char *base,
                             const char *token, long timeout_ms);

/* Frees what tg owns. */
void tr_telegram_release(struct tr_telegram *tg);

/*
 * Sends m (sendMessage, or editMessageText when m->edit is set) and sorts
 * the outcome into r.  TR_OK whenever r says what happened; TR_ENOMEM.
 */
enum tr_err tr_telegram_send(struct tr_telegram *tg,
                             const struct tr_tg_message *m,
                             struct tr_tg_result *r);

/*
 * Asks getMe (chat NULL: is the token valid?) or getChat (can the bot see
 * chat?) and sorts the answer into r like a send (TR_TG_SENT: yes).
 */
enum tr_err tr_telegram_check(struct tr_telegram *tg, const char *chat,
                              struct tr_tg_result *r);

/*
 * Sorts an HTTP answer of sendMessage (status and body) into r.  Pure: the
 * unit tests feed it Telegram's real answers.
 */
void tr_telegram_classify(long status, const char *body, size_t len,
                          struct tr_tg_result *r);

#endif
