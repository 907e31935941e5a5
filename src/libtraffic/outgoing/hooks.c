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

/*
 * url (cut at its query) into buf without a last path segment that is the
 * webhook secret (the path form .../traffic/SECRET), and without a final
 * slash: how destinations compare, and how one is shown (the secret is
 * never written out).
 */
static void
bare(const struct tr_config *cfg, const char *url, char *buf, size_t bufsz)
{
    const char *secret = cfg->webhook_secret;
    size_t n, k;

    snprintf(buf, bufsz, "%.*s", (int)strcspn(url, "?#"), url);
    n = strlen(buf);
    while (n > 0 && buf[n - 1] == '/')
        buf[--n] = '\0';
    k = secret ? strlen(secret) : 0;
    if (k > 0 && n > k && buf[n - k - 1] == '/' &&
        strcmp(buf + n - k, secret) == 0)
        buf[n - k - 1] = '\0';
}

/* Whether a subscription's destination is this service. */
static int
ours(const struct tr_config *cfg, const char *dest)
{
    char d[1024], want[1024], path[1024];
    size_t n;

    bare(cfg, dest, d, sizeof(d));
    if (cfg->webhook_public_url != NULL) {
        /* AmoCRM keeps ?token=... in the destination */
        bare(cfg, cfg->webhook_public_url, want, sizeof(want));
        return strcmp(want, d) == 0;
    }
    url_path(d, path, sizeof(path));
    n = strlen(path);
    return (n >= 23 && strcmp(path + n - 23, "/webhook/amocrm/traffic") == 0) ||
           (n >= 15 && strcmp(path + n - 15, "/webhook/amocrm") == 0);
}

void
tr_hooks_judge(const struct tr_config *cfg, const struct tr_amo_hooks *hooks,
               struct tr_hooks_verdict *v)
{
    const char *where = ".../webhook/amocrm/traffic";
    size_t i, enabled = 0, disabled = 0;
    const char *off = NULL;
    char shown[1024], url[1024];

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
    if (cfg->webhook_public_url != NULL) {
        bare(cfg, cfg->webhook_public_url, url, sizeof(url));
        where = url;
    }
    v->problem[0] = '\0';
    snprintf(v->state, sizeof(v->state), "%s",
             enabled    ? "ok"
             : disabled ? "disabled"
                        : "missing");
    if (!enabled && disabled) {
        bare(cfg, off, shown, sizeof(shown));
        snprintf(v->problem, sizeof(v->problem),
                 "the AmoCRM webhook to %.300s is disabled (AmoCRM switches "
                 "a hook off after many failed deliveries): enable it again "
                 "in AmoCRM, Settings, API, Webhooks; reconciliation "
                 "recovers what it missed",
                 shown);
    } else if (!enabled)
        snprintf(v->problem, sizeof(v->problem),
                 "no AmoCRM webhook posts to %.300s: add it in AmoCRM, "
                 "Settings, API, Webhooks (events \"deal changed\" and "
                 "\"deal status changed\")",
                 where);
}
