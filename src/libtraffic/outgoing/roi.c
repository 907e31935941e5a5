/*
 * roi.c: return on ad spend per targetologist (roi.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/rows.h"
#include "db/store.h"
#include "outgoing/roi.h"
#include "sql.h"

/* the lines of the rates used: a year of daily rates in a few currencies */
#define RATES_MAX (256 * 1024)

static void
copy(char *dst, size_t dstsz, const struct tr_rows *res, int r, const char *col,
     const char *null)
{
    snprintf(dst, dstsz, "%s",
             tr_rows_null(res, r, col) ? null : tr_rows_text(res, r, col));
}

static void
row_of(const struct tr_rows *res, int r, struct tr_roi_row *o)
{
    memset(o, 0, sizeof(*o));
    copy(o->who, sizeof(o->who), res, r, "who", "");
    o->sales = tr_rows_long(res, r, "sales");
    copy(o->revenue, sizeof(o->revenue), res, r, "revenue_kzt", "0");
    copy(o->spend, sizeof(o->spend), res, r, "spend_kzt", "0");
    copy(o->roi, sizeof(o->roi), res, r, "roi_pct", "");
    copy(o->roas, sizeof(o->roas), res, r, "roas", "");
    copy(o->cpa, sizeof(o->cpa), res, r, "cpa_kzt", "");
    o->no_rate = tr_rows_text(res, r, "no_rate")[0] == 't';
}

/* The row of name among res's (-1: none), the total's for NULL. */
static int
find(const struct tr_rows *res, const char *name)
{
    int r;

    for (r = 0; r < tr_rows_count(res); r++) {
        if (name == NULL ? tr_rows_null(res, r, "who")
                         : !tr_rows_null(res, r, "who") &&
                               strcmp(tr_rows_text(res, r, "who"), name) == 0)
            return r;
    }
    return -1;
}

/* Appends name's row (zeros when it has none). */
static void
add(struct tr_roi *out, const struct tr_rows *res, const char *name)
{
    struct tr_roi_row *o = &out->v[out->n++];
    int r = find(res, name);

    if (r >= 0) {
        row_of(res, r, o);
        return;
    }
    memset(o, 0, sizeof(*o));
    snprintf(o->who, sizeof(o->who), "%s", name ? name : "");
    snprintf(o->revenue, sizeof(o->revenue), "0");
    snprintf(o->spend, sizeof(o->spend), "0");
}

static int
in_rules(const struct tr_rules *rules, const char *name)
{
    size_t i;

    for (i = 0; i < rules->n; i++)
        if (strcmp(rules->v[i].name, name) == 0)
            return 1;
    return strcmp(rules->fallback.name, name) == 0;
}

/* The rates used, into out->rates. */
static enum tr_err
rates_used(struct tr_store *store, const char *const *p, struct tr_roi *out,
           char *msg, size_t msgsz)
{
    struct tr_rows *res;
    enum tr_err err = TR_OK;
    const char *src;
    int r;

    if ((res = tr_store_query(store, tr_sql_roi_rates, 2, p, msg, msgsz)) ==
        NULL)
        return TR_EDB;
    for (r = 0; r < tr_rows_count(res) && err == TR_OK; r++) {
        src = tr_rows_text(res, r, "source");
        err = tr_buf_addf(
            &out->rates_ru,
            "%s%s %s \xE2\x82\xB8%s%s (\xD0\x9D\xD0\x91 \xD0\xA0\xD0\x9A, %s)",
            r ? "; " : "", tr_rows_text(res, r, "currency"),
            tr_rows_text(res, r, "rate"),
            strcmp(tr_rows_text(res, r, "quant"), "1") ? " \xD0\xB7\xD0\xB0 "
                                                       : "",
            strcmp(tr_rows_text(res, r, "quant"), "1")
                ? tr_rows_text(res, r, "quant")
                : "",
            strncmp(src, "nbk ", 4) == 0 ? src + 4 : src);
        if (err == TR_OK)
            err = tr_buf_addf(
                &out->rates, "%s%s %s per %s (%s%s)", r ? "; " : "",
                tr_rows_text(res, r, "currency"), tr_rows_text(res, r, "rate"),
                tr_rows_text(res, r, "quant"), tr_rows_text(res, r, "source"),
                tr_rows_text(res, r, "earlier")[0] == 't'
                    ? ", also for later days without a rate"
                    : "");
    }
    tr_rows_free(res);
    return err == TR_OK
               ? TR_OK
               : tr_fail(msg, msgsz, err, "roi: the rates used: %s",
                         err == TR_ENOMEM ? "out of memory" : "over 256 KiB");
}

enum tr_err
tr_roi_compute(struct tr_store *store, const struct tr_config *cfg,
               const struct tr_rules *rules, const char *from, const char *to,
               struct tr_roi *out, char *msg, size_t msgsz)
{
    const char *p[3] = {from, to, cfg->tz};
    struct tr_rows *res;
    size_t i;
    int r;

    memset(out, 0, sizeof(*out));
    tr_buf_init(&out->rates, RATES_MAX);
    tr_buf_init(&out->rates_ru, RATES_MAX);
    if ((res = tr_store_query(store, tr_sql_roi, 3, p, msg, msgsz)) == NULL)
        return TR_EDB;
    /* the rules' names, the others, Unknown, the total */
    out->v = calloc(rules->n + (size_t)tr_rows_count(res) + 2, sizeof(*out->v));
    if (out->v == NULL) {
        tr_rows_free(res);
        return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    }
    for (i = 0; i < rules->n; i++)
        add(out, res, rules->v[i].name);
    for (r = 0; r < tr_rows_count(res); r++)
        if (!tr_rows_null(res, r, "who") &&
            !in_rules(rules, tr_rows_text(res, r, "who")))
            add(out, res, tr_rows_text(res, r, "who"));
    add(out, res, rules->fallback.name);
    add(out, res, NULL);
    out->v[out->n - 1].who[0] = '\0';
    tr_rows_free(res);
    return rates_used(store, p, out, msg, msgsz);
}

void
tr_roi_release(struct tr_roi *roi)
{
    free(roi->v);
    tr_buf_release(&roi->rates);
    tr_buf_release(&roi->rates_ru);
    memset(roi, 0, sizeof(*roi));
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static enum tr_err
csv_field(struct tr_buf *b, const char *s)
{
    enum tr_err err = TR_OK;

    if (strpbrk(s, ",\"\r\n") == NULL)
        return tr_buf_adds(b, s);
    err = tr_buf_adds(b, "\"");
    for (; *s != '\0' && err == TR_OK; s++)
        err = *s == '"' ? tr_buf_adds(b, "\"\"") : tr_buf_add(b, s, 1);
    return err == TR_OK ? tr_buf_adds(b, "\"") : err;
}

enum tr_err
tr_roi_format(const struct tr_roi *roi, int csv, long target_pct,
              struct tr_buf *b)
{
    enum tr_err err;
    size_t i;

    err = tr_buf_adds(b, csv ? "targetologist,sales,revenue_kzt,spend_kzt,"
                               "roi_pct,roas,cpa_kzt\n"
                             : "targetologist\tsales\trevenue_kzt\tspend_kzt"
                               "\troi_pct\troas\tcpa_kzt\tnote\n");
    for (i = 0; i < roi->n && err == TR_OK; i++) {
        const struct tr_roi_row *o = &roi->v[i];
        const char *who = o->who[0] ? o->who : "TOTAL";
        const char *none = csv ? "" : "-";

        if (csv) {
            err = csv_field(b, who);
            if (err == TR_OK)
                err =
                    tr_buf_addf(b, ",%ld,%s,%s,%s,%s,%s\n", o->sales,
                                o->revenue, o->spend, o->roi, o->roas, o->cpa);
            continue;
        }
        err = tr_buf_addf(
            b, "%s\t%ld\t%s\t%s\t%s\t%s\t%s\t%s%s\n", who, o->sales, o->revenue,
            o->spend, o->roi[0] ? o->roi : none, o->roas[0] ? o->roas : none,
            o->cpa[0] ? o->cpa : none,
            o->roi[0] && strtod(o->roi, NULL) < (double)target_pct
                ? "below the ROI target"
                : "",
            o->no_rate ? " (some spend has no rate yet: left out)" : "");
    }
    if (err == TR_OK && !csv && roi->rates.len > 0)
        err = tr_buf_addf(b, "rates: %s\n", roi->rates.data);
    return err;
}

enum tr_err
tr_roi_days(struct tr_store *store, const struct tr_config *cfg,
            struct tr_roi_days *d, char *msg, size_t msgsz)
{
    char back[24];
    const char *p[2] = {cfg->tz, back};
    struct tr_rows *res;

    snprintf(back, sizeof(back), "%ld", cfg->ads_lookback_days);
    if ((res = tr_store_query(store, tr_sql_ads_days, 2, p, msg, msgsz)) ==
        NULL)
        return TR_EDB;
    snprintf(d->since, sizeof(d->since), "%s", tr_rows_text(res, 0, "since"));
    snprintf(d->today, sizeof(d->today), "%s", tr_rows_text(res, 0, "today"));
    snprintf(d->month, sizeof(d->month), "%s",
             tr_rows_text(res, 0, "month_start"));
    snprintf(d->week, sizeof(d->week), "%s",
             tr_rows_text(res, 0, "week_start"));
    tr_rows_free(res);
    return TR_OK;
}
