/*
 * reconcile.c: traffic-ctl reconcile: the stored sales held against the
 * AmoCRM API over a window (reconcile.h), once.
 */
#include <stdio.h>

#include "ctl/ctl.h"
#include "libtraffic/outgoing/reconcile.h"
#include "libtraffic/base/text.h"

int
ctl_reconcile_args(const struct ctl *c)
{
    /* --since AGE, --dry-run, --force */
    return c->opt[0] == NULL || tr_text_parse_age(c->opt[0]) > 0 ? 0 : -1;
}

int
ctl_reconcile(struct ctl *c)
{
    static const struct tr_log log = {ctl_print_line, NULL};
    long long since =
        c->opt[0] ? tr_text_parse_age(c->opt[0]) : c->cfg.reconcile_window_s;
    int dry = c->opt[1] != NULL, rc = 0;
    struct tr_reconcile_stats st;
    struct tr_reconcile r;
    char msg[512], line[768];

    if (tr_reconcile_init(&r, &c->cfg, &c->rules, c->store, &log) != TR_OK) {
        fprintf(stderr, "traffic-ctl reconcile: out of memory\n");
        return 1;
    }
    if (!r.enabled) {
        fprintf(stderr, "traffic-ctl reconcile: AMOCRM_ACCESS_TOKEN and "
                        "AMOCRM_DOMAIN (or AMOCRM_API_BASE) must be set\n");
        tr_reconcile_release(&r);
        return EX_CONFIG;
    }
    r.force = c->opt[2] != NULL;
    if (tr_reconcile_run(&r, since, dry, &st, msg, sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl reconcile: %s\n", msg);
        rc = 1;
    }
    tr_reconcile_line(&st, line, sizeof(line));
    printf("%s%s\n", line, dry ? " (dry run: nothing written)" : "");
    tr_reconcile_release(&r);
    return rc;
}
