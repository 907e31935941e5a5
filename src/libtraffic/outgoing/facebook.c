/*
 * facebook.c: the Marketing API's insights, page by page (facebook.h).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/num.h"
#include "outgoing/facebook.h"

#define FB_URL_MAX 4096
#define FB_PAGES_MAX 10000
#define FB_TRIES_MAX 5

void
tr_fb_init(struct tr_fb *fb, const char *base, const char *token)
{
    memset(fb, 0, sizeof(*fb));
    tr_http_init(&fb->http);
    fb->base = base;
    fb->token = token;
    fb->timeout_ms = 30000;
    fb->max_wait_s = 300;
}

void
tr_fb_release(struct tr_fb *fb)
{
    tr_http_release(&fb->http);
}

static int
is_day(const char *s)
{
    return s != NULL && strlen(s) == 10 && strspn(s, "0123456789-") == 10 &&
           s[4] == '-' && s[7] == '-';
}

static const char *
str(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL ||
        json_object_is_type(v, json_type_object) ||
        json_object_is_type(v, json_type_array))
        return NULL;
    return json_object_get_string(v);
}

static struct json_object *
parse(const struct tr_buf *b)
{
    struct json_tokener *tok;
    struct json_object *o = NULL;

    if (b->data == NULL || b->len == 0 || (tok = json_tokener_new()) == NULL)
        return NULL;
    o = json_tokener_parse_ex(tok, b->data, (int)b->len);
    if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
                      !json_object_is_type(o, json_type_object))) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* Whether an error code is one of the rate limits. */
static int
throttle_code(long code)
{
    return code == 4 || code == 17 || code == 32 || code == 613 ||
           (code >= 80000 && code <= 80014);
}

/* How long the answer asks us to wait, in seconds: the largest
 * estimated_time_to_regain_access (minutes) of x-business-use-case-usage,
 * else Retry-After, else 1. */
static long
regain_s(struct tr_fb *fb)
{
    char hdr[2048];
    const char *p;
    long best = 0, v;

    if (tr_http_header(&fb->http, "x-business-use-case-usage", hdr,
                       sizeof(hdr))) {
        for (p = hdr;
             (p = strstr(p, "estimated_time_to_regain_access")) != NULL;) {
            p += strlen("estimated_time_to_regain_access");
            p += strspn(p, "\": ");
            v = strtol(p, NULL, 10);
            if (v * 60 > best)
                best = v * 60;
        }
    }
    if (best == 0)
        best = fb->http.retry_after;
    return best > 0 ? best : 1;
}

/* The URL of the first page. */
static void
first_url(const struct tr_fb *fb, const char *account, const char *since,
          const char *until, char *url, size_t urlsz)
{
    snprintf(url, urlsz,
             "%s/%s/insights?level=campaign&time_increment=1&limit=500"
             "&fields=campaign_id%%2Ccampaign_name%%2Cspend%%2Cimpressions"
             "%%2Cclicks%%2Caccount_currency&time_range=%%7B%%22since%%22"
             "%%3A%%22%s%%22%%2C%%22until%%22%%3A%%22%s%%22%%7D",
             fb->base, account, since, until);
}

/* paging.next as we may follow it: without access_token, on the
 * configured API's origin (scheme://host[:port]); 0, or -1. */
static int
next_url(const struct tr_fb *fb, const char *next, char *url, size_t urlsz)
{
    const char *host = strstr(fb->base, "://");
    const char *q, *p, *end;
    size_t origin, o, n;

    if (host == NULL || strlen(next) >= urlsz)
        return -1;
    origin = (size_t)(host + 3 - fb->base) + strcspn(host + 3, "/");
    if (strncmp(next, fb->base, origin) != 0 ||
        (next[origin] != '/' && next[origin] != '\0'))
        return -1;
    q = strchr(next, '?');
    o = q ? (size_t)(q - next) : strlen(next);
    memcpy(url, next, o);
    for (p = q; p != NULL && *p != '\0'; p = end) {
        p++; /* past '?' or '&' */
        end = p + strcspn(p, "&");
        n = (size_t)(end - p);
        if (n == 0 || strncmp(p, "access_token=", 13) == 0)
            continue;
        url[o] = o == (size_t)(q - next) ? '?' : '&';
        o++;
        memcpy(url + o, p, n);
        o += n;
    }
    url[o] = '\0';
    return 0;
}

/* The API's error object into fb->fault and msg; TR_ENET. */
static enum tr_err
api_error(struct tr_fb *fb, struct json_object *err, const char *account,
          char *msg, size_t msgsz)
{
    const char *m = str(err, "message");
    long code = str(err, "code") ? strtol(str(err, "code"), NULL, 10) : 0;

    fb->fault = code == 190                  ? TR_FB_TOKEN
                : code == 100 || code == 803 ? TR_FB_ACCOUNT
                : throttle_code(code)        ? TR_FB_THROTTLED
                                             : TR_FB_OTHER;
    tr_fail(msg, msgsz, TR_ENET, "facebook: %s%s: code %ld: %.200s",
            fb->fault == TR_FB_ACCOUNT ? "bad ad account " : "", account, code,
            m ? m : "no message");
    tr_http_scrub(msg, fb->token);
    return TR_ENET;
}

/* One page's rows to fn. */
static enum tr_err
rows(struct json_object *data, tr_fb_row_fn fn, void *arg, char *msg,
     size_t msgsz)
{
    struct tr_fb_row r;
    char price[TR_PRICE_MAX];
    enum tr_err err;
    size_t i, n;

    if (data == NULL || !json_object_is_type(data, json_type_array))
        return tr_fail(msg, msgsz, TR_ENET, "facebook: no data array");
    n = json_object_array_length(data);
    for (i = 0; i < n; i++) {
        struct json_object *o = json_object_array_get_idx(data, i);
        const char *day = str(o, "date_start"), *spend = str(o, "spend");

        memset(&r, 0, sizeof(r));
        if (!is_day(day) || str(o, "campaign_id") == NULL || spend == NULL ||
            tr_parse_price(spend, price) != NULL)
            return tr_fail(msg, msgsz, TR_ENET,
                           "facebook: a row without a day, campaign or "
                           "spend");
        snprintf(r.day, sizeof(r.day), "%s", day);
        snprintf(r.campaign_id, sizeof(r.campaign_id), "%s",
                 str(o, "campaign_id"));
        snprintf(r.campaign_name, sizeof(r.campaign_name), "%s",
                 str(o, "campaign_name") ? str(o, "campaign_name") : "");
        snprintf(r.spend, sizeof(r.spend), "%s", price[0] ? price : "0");
        r.impressions = str(o, "impressions")
                            ? strtoll(str(o, "impressions"), NULL, 10)
                            : 0;
        r.clicks = str(o, "clicks") ? strtoll(str(o, "clicks"), NULL, 10) : 0;
        snprintf(r.currency, sizeof(r.currency), "%s",
                 str(o, "account_currency") ? str(o, "account_currency") : "");
        if ((err = fn(arg, &r, msg, msgsz)) != TR_OK)
            return err;
    }
    return TR_OK;
}

/* GETs url until it is not throttled (bounded): its parsed answer, or
 * NULL with msg. */
static struct json_object *
get(struct tr_fb *fb, const char *url, const char *account, char *msg,
    size_t msgsz)
{
    char auth[1100];
    const char *headers[] = {auth, "Accept: application/json", NULL};
    struct json_object *o, *err;
    int tries;
    long wait;

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", fb->token);
    for (tries = 0; tries < FB_TRIES_MAX; tries++) {
        if (tr_http_request(&fb->http, url, headers, NULL, fb->timeout_ms,
                            fb->token, msg, msgsz) != TR_OK)
            return NULL;
        o = parse(&fb->http.answer);
        err = NULL;
        if (o != NULL)
            json_object_object_get_ex(o, "error", &err);
        if (fb->http.status == 200 && o != NULL && err == NULL)
            return o;
        if (o == NULL && fb->http.status != 429) {
            tr_fail(msg, msgsz, TR_ENET, "facebook: %s: HTTP %ld, not JSON",
                    account, fb->http.status);
            return NULL;
        }
        if (fb->http.status != 429 &&
            !throttle_code(str(err, "code") ? strtol(str(err, "code"), NULL, 10)
                                            : 0)) {
            api_error(fb, err, account, msg, msgsz);
            json_object_put(o);
            return NULL;
        }
        json_object_put(o);
        wait = regain_s(fb);
        if (fb->waited_s + wait > fb->max_wait_s)
            break;
        fb->waited_s += wait;
        sleep((unsigned)wait);
    }
    fb->fault = TR_FB_THROTTLED;
    tr_fail(msg, msgsz, TR_ENET,
            "facebook: %s: throttled, again in %ld s (waited %ld s)", account,
            regain_s(fb), fb->waited_s);
    return NULL;
}

enum tr_err
tr_fb_insights(struct tr_fb *fb, const char *account, const char *since,
               const char *until, tr_fb_row_fn fn, void *arg, char *msg,
               size_t msgsz)
{
    char url[FB_URL_MAX];
    struct json_object *o, *data, *paging;
    const char *next;
    enum tr_err err = TR_OK;
    int page;

    fb->fault = TR_FB_OK;
    fb->waited_s = 0;
    if (!is_day(since) || !is_day(until))
        return tr_fail(msg, msgsz, TR_EINVAL, "facebook: days are YYYY-MM-DD");
    first_url(fb, account, since, until, url, sizeof(url));
    for (page = 0; page < FB_PAGES_MAX; page++) {
        if ((o = get(fb, url, account, msg, msgsz)) == NULL) {
            if (fb->fault == TR_FB_OK)
                fb->fault = TR_FB_OTHER;
            return TR_ENET;
        }
        data = NULL;
        json_object_object_get_ex(o, "data", &data);
        err = rows(data, fn, arg, msg, msgsz);
        paging = NULL;
        json_object_object_get_ex(o, "paging", &paging);
        next = str(paging, "next");
        if (err == TR_OK && next != NULL &&
            next_url(fb, next, url, sizeof(url)) != 0)
            err = tr_fail(msg, msgsz, TR_ENET,
                          "facebook: %s: a next page off the API's origin, "
                          "not followed",
                          account);
        json_object_put(o);
        if (err != TR_OK || next == NULL)
            return err;
    }
    return tr_fail(msg, msgsz, TR_ENET, "facebook: %s: over %d pages", account,
                   FB_PAGES_MAX);
}
