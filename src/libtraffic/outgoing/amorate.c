/*
 * amorate.c: a slot, and the wait for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/rows.h"
#include "outgoing/amorate.h"
#include "base/metrics.h"
#include "sql.h"
#include "db/store.h"

#define TRIES 3            /* a request, tried again after 1 s and 2 s */
#define SLOT_WAIT 60.0     /* a batch job waits for its slot */
#define RETRY_AFTER_MAX 30 /* seconds of AmoCRM's Retry-After honoured */

int
tr_amorate_take(struct tr_store *store, long rate, double max_wait, char *msg,
                size_t msgsz)
{
    char r[24], w[32];
    const char *p[2] = {r, w};
    struct timespec ts;
    struct tr_rows *res;
    double wait;

    snprintf(r, sizeof(r), "%ld", rate);
    snprintf(w, sizeof(w), "%.3f", max_wait);
    if ((res = tr_store_query(store, tr_sql_amocrm_take, 2, p, msg, msgsz)) ==
        NULL)
        return -1;
    if (tr_rows_count(res) != 1) {
        tr_rows_free(res);
        return 0;
    }
    wait = strtod(tr_rows_text(res, 0, "w"), NULL);
    tr_rows_free(res);
    if (wait > 0) {
        ts.tv_sec = (time_t)wait;
        ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL);
    }
    return 1;
}

/* The wait before the next try: AmoCRM's Retry-After when it said one
 * (at most RETRY_AFTER_MAX s), else the backoff. */
static long
wait_ms(const struct tr_amocrm *amo, long backoff)
{
    long ra = amo->http.retry_after;

    if (ra <= 0)
        return backoff;
    return (ra > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : ra) * 1000;
}

enum tr_err
tr_amorate_list_leads(struct tr_amocrm *amo, struct tr_store *store, long rate,
                      const char *query, int page, struct tr_amo_leads *out,
                      const struct tr_log *log, char *msg, size_t msgsz)
{
    enum tr_amo_status st = TR_AMO_RETRY;
    struct timespec ts;
    char why[512] = "";
    long backoff = 1000, ms;
    int k;

    memset(out, 0, sizeof(*out));
    for (k = 0; k < TRIES; k++) {
        if (tr_amorate_take(store, rate, SLOT_WAIT, msg, msgsz) < 0)
            return TR_EDB;
        st = tr_amocrm_list_leads(amo, query, page, out, why, sizeof(why));
        tr_metrics_amocrm((int)st);
        if (st != TR_AMO_RETRY)
            break;
        tr_amo_leads_release(out);
        ms = wait_ms(amo, backoff);
        if (log != NULL)
            tr_log_warn(log, "reconcile: %s; again in %ld ms", why, ms);
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (ms % 1000) * 1000000L;
        nanosleep(&ts, NULL);
        backoff *= 2;
    }
    if (st == TR_AMO_OK)
        return TR_OK;
    tr_amo_leads_release(out);
    return tr_fail(msg, msgsz, TR_ENET, "the AmoCRM API: %s%s", why,
                   st == TR_AMO_DENIED ? " (AmoCRM refused "
                                         "AMOCRM_ACCESS_TOKEN)"
                                       : "");
}
