/*
 * ads.c: the ad spend sync (ads.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/num.h"
#include "base/text.h"
#include "db/rows.h"
#include "db/store.h"
#include "outgoing/ads.h"
#include "outgoing/rates.h"
#include "sql.h"

#define RATE_LOOKBACK_DAYS 10 /* a holiday run this long is looked past */

enum tr_err
tr_ads_accounts(const char *spec, struct tr_ad_account *v, size_t max,
                size_t *n, char *msg, size_t msgsz)
{
    const char *p = spec, *end, *colon;
    size_t len, idlen, digits;

    *n = 0;
    while (p != NULL && *p != '\0') {
        p += strspn(p, " ,");
        if (*p == '\0')
            break;
        end = p + strcspn(p, ",");
        len = (size_t)(end - p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        colon = memchr(p, ':', len);
        idlen = colon ? (size_t)(colon - p) : len;
        digits = idlen > 4 ? strspn(p + 4, "0123456789") : 0;
        if (*n == max || idlen < 5 || idlen >= sizeof(v->id) ||
            strncmp(p, "act_", 4) != 0 || digits != idlen - 4 ||
            (colon &&
             (len - idlen - 1 == 0 || len - idlen - 1 >= sizeof(v->who))))
            return tr_fail(msg, msgsz, TR_ECONFIG,
                           "FACEBOOK_AD_ACCOUNTS: \"%.*s\" is not act_ID or "
                           "act_ID:Targetologist",
                           (int)(len > 60 ? 60 : len), p);
        snprintf(v[*n].id, sizeof(v->id), "%.*s", (int)idlen, p);
        snprintf(v[*n].who, sizeof(v->who), "%.*s",
                 colon ? (int)(len - idlen - 1) : 0, colon ? colon + 1 : "");
        (*n)++;
        p = end;
    }
    return TR_OK;
}

int
tr_ads_due(struct tr_store *store, const struct tr_config *cfg, char *msg,
           size_t msgsz)
{
    char who[300], host[256], secs[24];
    const char *p[2] = {who, secs};
    struct tr_rows *res;
    int due;

    if (cfg->fb_token == NULL || cfg->ads_sync_interval_s == 0)
        return 0;
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "?");
    host[sizeof(host) - 1] = '\0';
    snprintf(who, sizeof(who), "%s:%ld", host, (long)getpid());
    snprintf(secs, sizeof(secs), "%ld", cfg->ads_sync_interval_s);
    if ((res = tr_store_query(store, tr_sql_ads_due, 2, p, msg, msgsz)) == NULL)
        return -1;
    due = tr_rows_text(res, 0, "taken")[0] == 't';
    tr_rows_free(res);
    return due;
}

/* What one account's rows need. */
struct sink {
    struct tr_store *store;
    const struct tr_rules *rules;
    const struct tr_ad_account *account;
    long rows;
};

/* A campaign's targetologist: the account's, else by its name. */
static const char *
owner(const struct sink *s, const char *campaign)
{
    const struct tr_rule *r;

    if (s->account->who[0] != '\0') {
        r = tr_rules_find(s->rules, s->account->who);
        return r ? r->name : s->account->who;
    }
    return tr_rules_match(s->rules, campaign, NULL)->name;
}

static enum tr_err
store_row(void *arg, const struct tr_fb_row *r, char *msg, size_t msgsz)
{
    struct sink *s = arg;
    char imp[24], clicks[24];
    const char *p[9];
    struct tr_rows *res;

    snprintf(imp, sizeof(imp), "%lld", r->impressions);
    snprintf(clicks, sizeof(clicks), "%lld", r->clicks);
    p[0] = r->day;
    p[1] = s->account->id;
    p[2] = r->campaign_id;
    p[3] = r->campaign_name;
    p[4] = owner(s, r->campaign_name);
    p[5] = r->spend;
    p[6] = r->currency[0] ? r->currency : "KZT";
    p[7] = imp;
    p[8] = clicks;
    if ((res = tr_store_query(s->store, tr_sql_ads_upsert, 9, p, msg, msgsz)) ==
        NULL)
        return TR_EDB;
    tr_rows_free(res);
    s->rows++;
    return TR_OK;
}

/* The NBK's answers of one sync, by day, so that a weekend's look back
 * and the next day's ask once. */
struct rate_cache {
    struct tr_http http;
    struct tr_rates day[2 * RATE_LOOKBACK_DAYS + 8];
    char asked[2 * RATE_LOOKBACK_DAYS + 8][11];
    size_t n;
    char stored[2 * RATE_LOOKBACK_DAYS + 8][32]; /* "YYYY-MM-DD USD" */
    size_t nstored;
};

static const struct tr_rates *
nbk(struct rate_cache *rc, const struct tr_config *cfg, const char *d,
    char *msg, size_t msgsz)
{
    size_t i;

    for (i = 0; i < rc->n; i++)
        if (strcmp(rc->asked[i], d) == 0)
            return &rc->day[i];
    if (rc->n == sizeof(rc->asked) / sizeof(rc->asked[0]))
        rc->n = 0; /* a long range: forget the oldest answers */
    if (tr_rates_fetch(&rc->http, cfg->rates_api_base, d, 10000,
                       &rc->day[rc->n], msg, msgsz) != TR_OK)
        return NULL;
    snprintf(rc->asked[rc->n], sizeof(rc->asked[0]), "%.10s", d);
    return &rc->day[rc->n++];
}

/* Stores d's rate r of currency once per sync: 1 stored now, 0 already,
 * -1 failed. */
static int
store_rate(struct tr_store *store, struct rate_cache *rc, const char *d,
           const struct tr_rate *r, char *msg, size_t msgsz)
{
    char key[32], src[32], q[24];
    const char *p[5];
    struct tr_rows *res;
    size_t i;

    snprintf(key, sizeof(key), "%.10s %.7s", d, r->currency);
    for (i = 0; i < rc->nstored; i++)
        if (strcmp(rc->stored[i], key) == 0)
            return 0;
    snprintf(src, sizeof(src), "nbk %.2s.%.2s.%.4s", d + 8, d + 5, d);
    snprintf(q, sizeof(q), "%ld", r->quant);
    p[0] = d;
    p[1] = r->currency;
    p[2] = r->rate;
    p[3] = q;
    p[4] = src;
    if ((res = tr_store_query(store, tr_sql_rate_upsert, 5, p, msg, msgsz)) ==
        NULL)
        return -1;
    tr_rows_free(res);
    if (rc->nstored < sizeof(rc->stored) / sizeof(rc->stored[0]))
        snprintf(rc->stored[rc->nstored++], sizeof(rc->stored[0]), "%s", key);
    return 1;
}

/* The rate of currency for day: its own, else the latest published before
 * it (a weekend, a holiday), stored under the day it was published; 1
 * stored, 0 not new or none found, -1 failed. */
static int
rate_of(struct tr_store *store, struct rate_cache *rc,
        const struct tr_config *cfg, const char *day, const char *currency,
        const struct tr_log *log, char *msg, size_t msgsz)
{
    const struct tr_rates *r;
    char d[16];
    size_t i;
    int back, got;

    for (back = 0; back <= RATE_LOOKBACK_DAYS; back++) {
        tr_day_add(day, -back, d, sizeof(d));
        if ((r = nbk(rc, cfg, d, msg, msgsz)) == NULL)
            return -1;
        for (i = 0; i < r->n && strcmp(r->v[i].currency, currency) != 0; i++)
            ;
        if (strcmp(r->date, d) != 0 || i == r->n)
            continue; /* no rate set that day: the one before */
        if ((got = store_rate(store, rc, d, &r->v[i], msg, msgsz)) > 0)
            tr_log_say(log, "ads: %s %s = %s KZT per %ld (nbk)", d, currency,
                       r->v[i].rate, r->v[i].quant);
        if (back > 0)
            tr_log_say(log, "ads: %s has no %s rate of its own: %s's applies",
                       day, currency, d);
        return got;
    }
    tr_log_warn(log, "ads: no %s rate published on or %d days before %s",
                currency, RATE_LOOKBACK_DAYS, day);
    return 0;
}

/* The rates of every day with spend in another currency and none yet. */
static enum tr_err
rates(struct tr_store *store, const struct tr_config *cfg, const char *since,
      const char *until, const struct tr_log *log, struct tr_ads_stats *st,
      char *msg, size_t msgsz)
{
    const char *p[2] = {since, until};
    struct rate_cache *rc;
    struct tr_rows *res;
    enum tr_err err = TR_OK;
    int i, got;

    if ((rc = calloc(1, sizeof(*rc))) == NULL)
        return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    if ((res = tr_store_query(store, tr_sql_ads_rate_days, 2, p, msg, msgsz)) ==
        NULL) {
        free(rc);
        return TR_EDB;
    }
    tr_http_init(&rc->http);
    for (i = 0; i < tr_rows_count(res) && err == TR_OK; i++) {
        got = rate_of(store, rc, cfg, tr_rows_text(res, i, "day"),
                      tr_rows_text(res, i, "currency"), log, msg, msgsz);
        if (got < 0)
            err = TR_ENET;
        st->rates += got > 0;
    }
    tr_http_release(&rc->http);
    free(rc);
    tr_rows_free(res);
    return err;
}

/* One account into ad_spend; said on log. */
static enum tr_err
account(struct tr_fb *fb, struct sink *s, const char *since, const char *until,
        const struct tr_log *log, char *msg, size_t msgsz)
{
    enum tr_err err;
    long before = s->rows;

    err = tr_fb_insights(fb, s->account->id, since, until, store_row, s, msg,
                         msgsz);
    if (err == TR_OK)
        tr_log_say(log, "ads: %s: %ld campaign days from %s to %s%s%s",
                   s->account->id, s->rows - before, since, until,
                   fb->waited_s ? ", throttled for a while" : "",
                   s->account->who[0] ? " (mapped)" : "");
    else if (fb->fault == TR_FB_TOKEN)
        tr_log_error(log, "ads: %s", msg);
    else
        tr_log_warn(log, "ads: %s", msg);
    return err;
}

enum tr_err
tr_ads_sync(struct tr_store *store, const struct tr_config *cfg,
            const struct tr_rules *rules, const char *since, const char *until,
            const struct tr_log *log, struct tr_ads_stats *st, char *msg,
            size_t msgsz)
{
    struct tr_ad_account acc[TR_ADS_ACCOUNTS_MAX];
    struct sink s = {store, rules, NULL, 0};
    const char *p[3];
    char id[24], rows[24], first[512] = "", why[512];
    struct tr_fb fb;
    enum tr_err err, result = TR_OK;
    struct tr_rows *res;
    size_t n, i;

    memset(st, 0, sizeof(*st));
    if (cfg->fb_token == NULL)
        return tr_fail(msg, msgsz, TR_ECONFIG, "FACEBOOK_ADS_TOKEN is not set");
    if ((err = tr_ads_accounts(cfg->fb_accounts, acc, TR_ADS_ACCOUNTS_MAX, &n,
                               msg, msgsz)) != TR_OK)
        return err;
    if (n == 0)
        return tr_fail(msg, msgsz, TR_ECONFIG,
                       "FACEBOOK_AD_ACCOUNTS names no ad account");
    p[0] = since;
    p[1] = until;
    if ((res = tr_store_query(store, tr_sql_ads_run_start, 2, p, msg, msgsz)) ==
        NULL)
        return TR_EDB;
    snprintf(id, sizeof(id), "%s", tr_rows_text(res, 0, "id"));
    tr_rows_free(res);
    tr_fb_init(&fb, cfg->fb_api_base, cfg->fb_token);
    for (i = 0; i < n; i++) {
        s.account = &acc[i];
        err = account(&fb, &s, since, until, log, why, sizeof(why));
        st->accounts++;
        if (err != TR_OK && result == TR_OK) {
            result = err;
            st->fault = fb.fault;
            snprintf(first, sizeof(first), "%s", why);
        }
        st->failed += err != TR_OK;
        if (err == TR_EDB || fb.fault == TR_FB_TOKEN)
            break; /* the same for every account */
    }
    tr_fb_release(&fb);
    st->rows = s.rows;
    if (result != TR_EDB &&
        (err = rates(store, cfg, since, until, log, st, why, sizeof(why))) !=
            TR_OK &&
        result == TR_OK) {
        result = err;
        snprintf(first, sizeof(first), "%s", why);
    }
    snprintf(rows, sizeof(rows), "%ld", st->rows);
    p[0] = id;
    p[1] = rows;
    p[2] = first[0] ? first : NULL;
    if ((res = tr_store_query(store, tr_sql_ads_run_finish, 3, p, why,
                              sizeof(why))) != NULL)
        tr_rows_free(res);
    if (result != TR_OK)
        snprintf(msg, msgsz, "%s", first);
    return result;
}
