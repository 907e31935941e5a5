/*
 * chats.h: Telegram chats as the configuration names them
 * (TELEGRAM_CHAT_IDS, ALERT_CHAT_IDS): a comma list of chat_id or
 * chat_id:thread_id, a chat_id being a signed number (groups negative,
 * supergroups -100...) or @channelname, a thread a forum topic.
 */
#ifndef TR_CHATS_H
#define TR_CHATS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define TR_CHATS_MAX 16

struct tr_chat {
    char id[48];       /* "-1001234567890" or "@channel" */
    int64_t thread_id; /* forum topic, 0 for none */
};

/*
 * Parses spec (NULL: no chats) into chats[*n], at most TR_CHATS_MAX.
 * TR_ECONFIG with why ("\"x\" is not a chat id ...") for a bad one.
 */
enum tr_err tr_chats_parse(const char *spec, struct tr_chat *chats, size_t *n,
                           char *why, size_t whysz);

/* Chats as PostgreSQL array literals, for statements that take them. */
struct tr_chat_lists {
    char ids[TR_CHATS_MAX * 52 + 4];     /* {"-100123","@team"} */
    char threads[TR_CHATS_MAX * 22 + 4]; /* {NULL,42} */
};

/* Writes the array literals of chats[n] into lists. */
void tr_chat_lists(const struct tr_chat *chats, size_t n,
                   struct tr_chat_lists *lists);

#endif
