/*
 * deliver.c: enrichment, then messages, for the sidecar.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "outgoing/deliver.h"

#define SLOT_WAIT 5.0 /* seconds the sidecar waits for an API slot */

enum tr_err
tr_deliver_init(struct tr_deliver *d, const struct tr_config *cfg,
                const struct tr_rules *rules, struct tr_store *store,
                const struct tr_log *log)
{
    enum tr_err err;

    memset(d, 0, sizeof(*d));
    if (log != NULL)
        d->log = *log;
    if ((err = tr_notify_init(&d->notify, cfg, store, log)) != TR_OK)
        return err;
    if ((err = tr_enrich_init(&d->enrich, cfg, rules, store, log)) != TR_OK)
        tr_notify_release(&d->notify);
    return err;
}

void
tr_deliver_release(struct tr_deliver *d)
{
    tr_enrich_release(&d->enrich);
    tr_notify_release(&d->notify);
}

/* A client's name is personal data: out of the log line, unless the debug
 * switch is on (TRAFFIC_DEBUG=1 in the environment). */
static char *
hide_client(char *text)
{
    static const char label[] = "Клиент: ";
    char *c = strstr(text, label), *end, *out;
    size_t n, sz;

    if (c == NULL || getenv("TRAFFIC_DEBUG") != NULL)
        return text;
    c += sizeof(label) - 1;
    end = c + strcspn(c, "\n");
    n = (size_t)(c - text);
    sz = n + sizeof("(hidden)") + strlen(end);
    if ((out = malloc(sz)) != NULL)
        snprintf(out, sz, "%.*s(hidden)%s", (int)n, text, end);
    free(text);
    return out;
}

void
tr_deliver_log_messages(struct tr_deliver *d, const int64_t *leads, size_t n)
{
    char msg[512], *text, *p;
    size_t i;

    for (i = 0; i < n; i++) {
        if (tr_notify_render(d->notify.store, leads[i], 0, &text, NULL, msg,
                             sizeof(msg)) != TR_OK) {
            tr_log_say(&d->log, "telegram disabled; lead %" PRId64 ": %s",
                       leads[i], msg);
            continue;
        }
        if ((text = hide_client(text)) == NULL)
            continue;
        for (p = text; (p = strchr(p, '\n')) != NULL;)
            *p = '|';
        tr_log_say(&d->log,
                   "telegram disabled (no TELEGRAM_BOT_TOKEN or "
                   "TELEGRAM_CHAT_IDS); lead %" PRId64 " message: %s",
                   leads[i], text);
        free(text);
    }
}

enum tr_err
tr_deliver_run(struct tr_deliver *d, struct tr_notify_stats *st, char *msg,
               size_t msgsz)
{
    enum tr_err err;

    if ((err = tr_enrich_run(&d->enrich, TR_DELIVER_ROUND, SLOT_WAIT, msg,
                             msgsz)) != TR_OK)
        return err;
    if (!d->notify.enabled)
        return TR_OK;
    return tr_notify_deliver(&d->notify, TR_DELIVER_ROUND, NULL, 0, st, msg,
                             msgsz);
}
