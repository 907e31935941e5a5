/*
 * ads.c: traffic-ctl ads sync (Facebook's spend and the official rates,
 * outgoing/ads.h) and traffic-ctl roi (outgoing/roi.h).
 */
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"
#include "libtraffic/outgoing/roi.h"
#include "libtraffic/outgoing/ads.h"

static int
is_day(const char *d)
{
    return d == NULL || (strlen(d) == 10 && d[4] == '-' && d[7] == '-' &&
                         strspn(d, "0123456789-") == 10);
}

int
ctl_ads_args(const struct ctl *c)
{
    return strcmp(c->operand[0], "sync") == 0 && is_day(c->opt[0]) &&
                   is_day(c->opt[1])
               ? 0
               : -1;
}

int
ctl_ads(struct ctl *c)
{
    static const struct tr_log log = {ctl_print_line, NULL};
    struct tr_roi_days d;
    struct tr_ads_stats st;
    char msg[600];
    enum tr_err err;

    if (tr_roi_days(c->store, &c->cfg, &d, msg, sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl ads: %s\n", msg);
        return 1;
    }
    err = tr_ads_sync(
        c->store, &c->cfg, &c->rules, c->opt[0] ? c->opt[0] : d.since,
        c->opt[1] ? c->opt[1] : d.today, &log, &st, msg, sizeof(msg));
    printf("ads: %ld campaign days from %ld account%s (%ld failed), %ld "
           "rate%s stored\n",
           st.rows, st.accounts, st.accounts == 1 ? "" : "s", st.failed,
           st.rates, st.rates == 1 ? "" : "s");
    if (err != TR_OK) {
        fprintf(stderr, "traffic-ctl ads: %s\n", msg);
        return err == TR_ECONFIG ? 78 : 1;
    }
    return 0;
}

int
ctl_roi_args(const struct ctl *c)
{
    return is_day(c->opt[0]) && is_day(c->opt[1]) ? 0 : -1;
}

int
ctl_roi(struct ctl *c)
{
    struct tr_roi_days d;
    char msg[600];
    struct tr_roi roi;
    struct tr_buf b;
    int rc = 0;

    if (tr_roi_days(c->store, &c->cfg, &d, msg, sizeof(msg)) != TR_OK ||
        tr_roi_compute(
            c->store, &c->cfg, &c->rules, c->opt[0] ? c->opt[0] : d.month,
            c->opt[1] ? c->opt[1] : d.today, &roi, msg, sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl roi: %s\n", msg);
        return 1;
    }
    tr_buf_init(&b, 4 * 1024 * 1024);
    if (tr_roi_format(&roi, c->opt[2] != NULL, c->cfg.roi_target_pct, &b) !=
        TR_OK) {
        fprintf(stderr, "traffic-ctl roi: out of memory\n");
        rc = 1;
    } else {
        fputs(b.data ? b.data : "", stdout);
    }
    tr_buf_release(&b);
    tr_roi_release(&roi);
    return rc;
}
