/*
 * hooks.c: whether one of the account's webhook subscriptions posts to
 * this service, and what to do when none does.
 */
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "outgoing/hooks.h"

/* The path of a URL, without its scheme, host and query. */
static void
url_path(const char *url, char *buf, size_t bufsz)
{
    const char *p = strstr(url, "://");

    p = p ? strchr(p + 3, '/') : url;
    snprintf(buf, bufsz, "%.*s", p ? (int)strcspn(p, "?#") : 0, p ? p : "");
    while (strlen(buf) > 1 && buf[strlen(buf) - 1] == '/')
        buf[strlen(buf) - 1] = '\0';
}

/* Whether a subscription's destination is this service. */
static int
ours(const struct tr_config *cfg, const char *dest)
{
    char path[1024];
    size_t n, k;

    if (cfg->webhook_public_url != NULL) {
        /* AmoCRM keeps ?token=... in the destination */
        n = strcspn(cfg->webhook_public_url, "?#");
        k = strcspn(dest, "?#");
        while (n > 0 && cfg->webhook_public_url[n - 1] == '/')
            n--;
        while (k > 0 && dest[k - 1] == '/')
            k--;
        return n == k && strncmp(cfg->webhook_public_url, dest, n) == 0;
    }
    url_path(dest, path, sizeof(path));
    n = strlen(path);
    return (n >= 23 && strcmp(path + n - 23, "/webhook/amocrm/traffic") == 0) ||
           (n >= 15 && strcmp(path + n - 15, "/webhook/amocrm") == 0);
}

void
tr_hooks_judge(const struct tr_config *cfg, const struct tr_amo_hooks *hooks,
               struct tr_hooks_verdict *v)
{
    const char *where = cfg->webhook_public_url ? cfg->webhook_public_url
                                                : ".../webhook/amocrm/traffic";
    size_t i, enabled = 0, disabled = 0;
    const char *off = NULL;

    for (i = 0; i < hooks->n; i++) {
        if (!ours(cfg, hooks->v[i].destination))
            continue;
        if (hooks->v[i].disabled) {
            disabled++;
            off = hooks->v[i].destination;
        } else {
            enabled++;
        }
    }
    v->problem[0] = '\0';
    snprintf(v->state, sizeof(v->state), "%s",
             enabled    ? "ok"
             : disabled ? "disabled"
                        : "missing");
    if (!enabled && disabled)
        snprintf(v->problem, sizeof(v->problem),
                 "the AmoCRM webhook to %.300s is disabled (AmoCRM switches "
                 "a hook off after many failed deliveries): enable it again "
                 "in AmoCRM, Settings, API, Webhooks; reconciliation "
                 "recovers what it missed",
                 off);
    else if (!enabled)
        snprintf(v->problem, sizeof(v->problem),
                 "no AmoCRM webhook posts to %.300s: add it in AmoCRM, "
                 "Settings, API, Webhooks (events \"deal changed\" and "
                 "\"deal status changed\")",
                 where);
}
