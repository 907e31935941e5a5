/*
 * test-hooks: whether AmoCRM's webhook subscriptions post to this service
 * (outgoing/hooks.h): the traffic and the unified endpoint, the path form
 * with the secret, WEBHOOK_PUBLIC_URL set or not, an old disabled
 * subscription beside a new one, and no secret in what is said.
 */
#include <string.h>

#include "libtraffic/base/config.h"
#include "libtraffic/outgoing/hooks.h"
#include "tap.h"

#define SECRET "whsec-0123456789abcdef"

static const char *
judge(const char *public_url, const char *secret, const char *dest1, int off1,
      const char *dest2, int off2, struct tr_hooks_verdict *v)
{
    struct tr_config cfg;
    struct tr_amo_hook h[2] = {{dest1, off1}, {dest2, off2}};
    struct tr_amo_hooks hooks = {NULL, h, dest2 ? 2 : 1};

    memset(&cfg, 0, sizeof(cfg));
    cfg.webhook_public_url = public_url;
    cfg.webhook_secret = secret;
    tr_hooks_judge(&cfg, &hooks, v);
    return v->state;
}

int
main(void)
{
    struct tr_hooks_verdict v;
    const char *url = "https://api.example.com/webhook/amocrm/traffic";

    is_str(judge(NULL, NULL, "https://a.example/webhook/amocrm/traffic", 0,
                 NULL, 0, &v),
           "ok", "the traffic endpoint, no WEBHOOK_PUBLIC_URL");
    is_str(
        judge(NULL, NULL, "https://a.example/webhook/amocrm", 0, NULL, 0, &v),
        "ok", "the unified endpoint, no WEBHOOK_PUBLIC_URL");
    is_str(judge(NULL, SECRET,
                 "https://a.example/webhook/amocrm/traffic/" SECRET, 0, NULL, 0,
                 &v),
           "ok", "the path form with the secret, no WEBHOOK_PUBLIC_URL");
    is_str(judge(url, SECRET,
                 "https://api.example.com/webhook/amocrm/traffic/" SECRET, 0,
                 NULL, 0, &v),
           "ok", "the path form with the secret, WEBHOOK_PUBLIC_URL set");
    is_str(judge(url, NULL,
                 "https://api.example.com/webhook/amocrm/traffic"
                 "?token=x",
                 0, NULL, 0, &v),
           "ok", "the ?token= form, WEBHOOK_PUBLIC_URL set");
    is_str(judge(url, NULL, "https://api.example.com/webhook/amocrm", 0, NULL,
                 0, &v),
           "missing", "another endpoint than WEBHOOK_PUBLIC_URL: missing");
    is_str(judge(NULL, NULL, "https://a.example/other", 0, NULL, 0, &v),
           "missing", "a hook elsewhere: missing");
    is_str(judge(NULL, NULL, "https://a.example/webhook/amocrm/traffic", 1,
                 "https://b.example/webhook/amocrm/traffic", 0, &v),
           "ok", "an old disabled subscription beside a new one: ok");
    is_str(judge(NULL, SECRET,
                 "https://a.example/webhook/amocrm/traffic/" SECRET
                 "?token=" SECRET,
                 1, NULL, 0, &v),
           "disabled", "only a disabled one: disabled");
    ok(strstr(v.problem, SECRET) == NULL &&
           strstr(v.problem, "https://a.example/webhook/amocrm/traffic is "
                             "disabled") != NULL,
       "said without the secret: %s", v.problem);
    is_str(judge("https://api.example.com/webhook/amocrm/traffic?token=" SECRET,
                 SECRET, "https://elsewhere.example/x", 0, NULL, 0, &v),
           "missing", "missing, WEBHOOK_PUBLIC_URL with a token");
    ok(strstr(v.problem, SECRET) == NULL, "said without the token: %s",
       v.problem);
    return done_testing();
}
