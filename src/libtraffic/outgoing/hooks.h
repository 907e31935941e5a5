/*
 * hooks.h: AmoCRM's webhook subscriptions judged: does one post to this
 * service (WEBHOOK_PUBLIC_URL, else a destination ending in
 * /webhook/amocrm/traffic or /webhook/amocrm), and is it enabled?  Asked by
 * reconciliation, the alerts and traffic-ctl check.
 */
#ifndef TR_HOOKS_H
#define TR_HOOKS_H

#include "outgoing/amocrm.h"

struct tr_config;

struct tr_hooks_verdict {
    char state[16];    /* "ok", "missing", "disabled"; "" unknown */
    char problem[512]; /* what to do about it, or "" */
};

/* Judges hooks for cfg into v.  Pure. */
void tr_hooks_judge(const struct tr_config *cfg,
                    const struct tr_amo_hooks *hooks,
                    struct tr_hooks_verdict *v);

#endif
