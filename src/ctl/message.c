/*
 * message.c: traffic-ctl message and resend: a stored sale's Telegram
 * message, shown, or queued again and sent.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ctl/ctl.h"
#include "libtraffic/outgoing/notify.h"
#include "libtraffic/outgoing/outbox.h"

int
ctl_message(struct ctl *c)
{
    char msg[512], *text = NULL, *status = NULL;
    int64_t id;

    ctl_lead(c, &id);
    if (tr_notify_render(c->store, id, 1, &text, &status, msg, sizeof(msg)) !=
        TR_OK) {
        fprintf(stderr, "traffic-ctl message: %s\n", msg);
        return 1;
    }
    printf("%s\n-- notification_status: %s\n", text, status);
    free(text);
    free(status);
    return 0;
}

int
ctl_resend(struct ctl *c)
{
    static const struct tr_log log = {ctl_print_line, NULL};
    struct tr_notify n;
    struct tr_notify_stats st = {0, 0, 0};
    char msg[512];
    int64_t id;
    long rows;
    int rc = 1;

    ctl_lead(c, &id);
    if (tr_notify_init(&n, &c->cfg, c->store, &log) != TR_OK) {
        fprintf(stderr, "traffic-ctl resend: out of memory\n");
        return 1;
    }
    if (!n.enabled) {
        fprintf(stderr, "traffic-ctl resend: TELEGRAM_BOT_TOKEN and "
                        "TELEGRAM_CHAT_IDS must be set\n");
        rc = EX_CONFIG;
    } else if (tr_outbox_resend(c->store, &n.chats, id, &rows, msg,
                                sizeof(msg)) != TR_OK ||
               tr_notify_deliver(&n, (size_t)rows, &id, 1, &st, msg,
                                 sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl resend: %s\n", msg);
    } else {
        printf("resend: lead %lld: %zu sent, %zu to retry, %zu failed (%ld "
               "chat%s; what pacing holds back the sidecar sends)\n",
               (long long)id, st.sent, st.retried, st.failed, rows,
               rows == 1 ? "" : "s");
        rc = st.failed > 0 ? 1 : 0;
    }
    tr_notify_release(&n);
    return rc;
}
