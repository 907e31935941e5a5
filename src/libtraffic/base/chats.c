/*
 * chats.c: reading a list of chats.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/chats.h"
#include "base/num.h"

static int
is_chat_id(const char *s, size_t n)
{
    size_t i = 0;

    if (n == 0 || n >= sizeof(((struct tr_chat *)0)->id))
        return 0;
    if (s[0] == '@') {
        if (n < 2)
            return 0;
        for (i = 1; i < n; i++)
            if (!isalnum((unsigned char)s[i]) && s[i] != '_')
                return 0;
        return 1;
    }
    if (s[0] == '-')
        i = 1;
    if (i == n || n - i > 19)
        return 0;
    for (; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

enum tr_err
tr_chats_parse(const char *p, struct tr_chat *chats, size_t *nchats, char *why,
               size_t whysz)
{
    const char *end, *colon;
    char thread[24];
    size_t n;

    *nchats = 0;
    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        end = p + strcspn(p, ", ");
        colon = memchr(p, ':', (size_t)(end - p));
        n = (size_t)((colon ? colon : end) - p);
        if (*nchats == TR_CHATS_MAX)
            return tr_fail(why, whysz, TR_ECONFIG, "more than 16 chats");
        if (!is_chat_id(p, n))
            return tr_fail(why, whysz, TR_ECONFIG,
                           "\"%.*s\" is not a chat id (-100123..., 12345 or "
                           "@channel)",
                           (int)n, p);
        memcpy(chats[*nchats].id, p, n);
        chats[*nchats].id[n] = '\0';
        chats[*nchats].thread_id = 0;
        if (colon != NULL) {
            n = (size_t)(end - colon - 1);
            if (n == 0 || n >= sizeof(thread))
                return tr_fail(why, whysz, TR_ECONFIG,
                               "bad thread id after \":\"");
            memcpy(thread, colon + 1, n);
            thread[n] = '\0';
            if (tr_parse_id(thread, &chats[*nchats].thread_id) != 0)
                return tr_fail(why, whysz, TR_ECONFIG,
                               "thread \"%s\" is not a positive integer",
                               thread);
        }
        (*nchats)++;
        p = end;
    }
    return TR_OK;
}

void
tr_chat_lists(const struct tr_chat *chats, size_t n, struct tr_chat_lists *l)
{
    size_t i, a, b;

    a = (size_t)snprintf(l->ids, sizeof(l->ids), "{");
    b = (size_t)snprintf(l->threads, sizeof(l->threads), "{");
    for (i = 0; i < n; i++) {
        /* a chat id is at most 47 digits, "-" or "@name" characters */
        a += (size_t)snprintf(l->ids + a, sizeof(l->ids) - a, "%s\"%s\"",
                              i ? "," : "", chats[i].id);
        if (chats[i].thread_id != 0)
            b += (size_t)snprintf(l->threads + b, sizeof(l->threads) - b,
                                  "%s%" PRId64, i ? "," : "",
                                  chats[i].thread_id);
        else
            b += (size_t)snprintf(l->threads + b, sizeof(l->threads) - b,
                                  "%sNULL", i ? "," : "");
    }
    snprintf(l->ids + a, sizeof(l->ids) - a, "}");
    snprintf(l->threads + b, sizeof(l->threads) - b, "}");
}
