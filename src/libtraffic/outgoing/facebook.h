/*
 * facebook.h: the Facebook Marketing API's insights, read defensively: one
 * ad account's spend per day and campaign, every page followed.
 *
 * GET {FACEBOOK_API_BASE}/act_ID/insights?level=campaign&time_increment=1
 * &fields=campaign_id,campaign_name,spend,impressions,clicks,
 * account_currency&time_range={"since":...,"until":...}, the token in an
 * Authorization header, never in a URL: a paging.next URL loses its
 * access_token, and one that leaves the configured API's origin is not
 * followed.  Throttling (HTTP 429, error codes 4, 17, 32, 613,
 * 80000-80014) is waited out as x-business-use-case-usage's
 * estimated_time_to_regain_access (or Retry-After) says, a few times and
 * for a bounded time.
 */
#ifndef TR_FACEBOOK_H
#define TR_FACEBOOK_H

#include <stddef.h>

#include "base/err.h"
#include "base/http.h"

/* One campaign's day, as the API says it. */
struct tr_fb_row {
    char day[11]; /* YYYY-MM-DD, the account's time zone */
    char campaign_id[32];
    char campaign_name[256];
    char spend[32]; /* a decimal in the account's currency */
    long long impressions, clicks;
    char currency[8]; /* account_currency */
};

/* Takes one row: TR_OK to go on. */
typedef enum tr_err (*tr_fb_row_fn)(void *arg, const struct tr_fb_row *row,
                                    char *msg, size_t msgsz);

/* What went wrong besides the network, for check and the alerts. */
enum tr_fb_fault {
    TR_FB_OK,
    TR_FB_TOKEN,     /* code 190: expired or revoked */
    TR_FB_ACCOUNT,   /* code 100 and kin: the account id is bad */
    TR_FB_THROTTLED, /* still throttled after the waits */
    TR_FB_OTHER,
};

struct tr_fb {
    struct tr_http http;
    const char *base;  /* FACEBOOK_API_BASE */
    const char *token; /* FACEBOOK_ADS_TOKEN */
    long timeout_ms;
    long max_wait_s; /* at most this long waiting out throttling */
    enum tr_fb_fault fault;
    long waited_s; /* of the last call */
};

/* Fills fb (base and token kept, not owned). */
void tr_fb_init(struct tr_fb *fb, const char *base, const char *token);

void tr_fb_release(struct tr_fb *fb);

/*
 * Hands every row of account's insights from since to until (YYYY-MM-DD)
 * to fn, page after page.  TR_ENET with fb->fault and the API's own words
 * in msg (the account named); the token never appears in msg.
 */
enum tr_err tr_fb_insights(struct tr_fb *fb, const char *account,
                           const char *since, const char *until,
                           tr_fb_row_fn fn, void *arg, char *msg, size_t msgsz);

#endif
