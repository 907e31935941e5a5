/*
 * digest.c: traffic-ctl digest: the daily summary (digest.h) by hand, or
 * its text alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "libtraffic/outgoing/digest.h"
#include "libtraffic/outgoing/notify.h"

int
ctl_digest_args(const struct ctl *c)
{
    const char *d = c->opt[0]; /* --date YYYY-MM-DD */

    return d == NULL || (strlen(d) == 10 && d[4] == '-' && d[7] == '-' &&
                         strspn(d, "0123456789-") == 10)
               ? 0
               : -1;
}

/* Sends what is due in the chats, in their order (the summary is the
 * newest), a few messages a chat at most: the sidecar does the rest. */
static int
send_now(struct ctl *c, struct tr_notify *n, char *msg, size_t msgsz)
{
    struct tr_notify_stats st = {0, 0, 0};

    if (tr_notify_deliver(n, 4 * c->cfg.nchats, NULL, 0, &st, msg, msgsz) !=
        TR_OK)
        return 1;
    printf("digest: %zu sent, %zu to retry, %zu failed\n", st.sent, st.retried,
           st.failed);
    return st.failed > 0;
}

int
ctl_digest(struct ctl *c)
{
    static const struct tr_log log = {ctl_print_line, NULL};
    int dry = c->opt[1] != NULL, rc = 0;
    char day[16], msg[512], *text = NULL;
    struct tr_notify n;
    long rows = 0;

    if (c->opt[0] != NULL)
        snprintf(day, sizeof(day), "%s", c->opt[0]);
    else if (tr_digest_today(c->store, &c->cfg, day, msg, sizeof(msg)) != TR_OK)
        goto failed;
    if (dry) {
        if (tr_digest_render(c->store, &c->cfg, &c->rules, day, 0, 0, &text,
                             msg, sizeof(msg)) != TR_OK)
            goto failed;
        printf("%s\n", text);
        free(text);
        return 0;
    }
    if (tr_notify_init(&n, &c->cfg, c->store, &log) != TR_OK) {
        fprintf(stderr, "traffic-ctl digest: out of memory\n");
        return 1;
    }
    if (!n.enabled) {
        fprintf(stderr,
                "traffic-ctl digest: TELEGRAM_BOT_TOKEN and "
                "TELEGRAM_CHAT_IDS must be set (--dry-run prints it)\n");
        tr_notify_release(&n);
        return EX_CONFIG;
    }
    if (tr_digest_queue(c->store, &c->cfg, &c->rules, day, 0, 1, &rows, msg,
                        sizeof(msg)) != TR_OK) {
        tr_notify_release(&n);
        goto failed;
    }
    printf("digest %s: queued for %ld chat%s%s\n", day, rows,
           rows == 1 ? "" : "s",
           (size_t)rows < c->cfg.nchats ? " (the others have it already)" : "");
    if (rows > 0 && (rc = send_now(c, &n, msg, sizeof(msg))) != 0 &&
        msg[0] != '\0')
        fprintf(stderr, "traffic-ctl digest: %s\n", msg);
    tr_notify_release(&n);
    return rc;
failed:
    fprintf(stderr, "traffic-ctl digest: %s\n", msg);
    return 1;
}
