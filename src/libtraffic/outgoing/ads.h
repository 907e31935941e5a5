/*
 * ads.h: what the team's ad money returns.  The sync reads each ad
 * account's spend from Facebook (facebook.h) into ad_spend, per day and
 * campaign, each campaign's spend the account's targetologist's when
 * FACEBOOK_AD_ACCOUNTS maps it (act_ID:Name), else the targetologist whose
 * patterns (the rules file) match the campaign name, else Unknown; then
 * the official rate of every day with spend in another currency
 * (rates.h), a day without its own (a weekend) read back until one was
 * published.  ROI reads them with the sales (statements/roi.sql).
 */
#ifndef TR_ADS_H
#define TR_ADS_H

#include <stddef.h>

#include "base/config.h"
#include "base/err.h"
#include "base/log.h"
#include "base/rules.h"
#include "outgoing/facebook.h"

#define TR_ADS_ACCOUNTS_MAX 64

struct tr_store;

struct tr_ad_account {
    char id[40];                /* act_123456 */
    char who[TR_RULE_NAME_MAX]; /* its targetologist, or "" */
};

/*
 * Parses FACEBOOK_AD_ACCOUNTS ("act_1:Kenesary,act_2") into v[*n], at most
 * max.  TR_ECONFIG naming the bad entry.
 */
enum tr_err tr_ads_accounts(const char *spec, struct tr_ad_account *v,
                            size_t max, size_t *n, char *msg, size_t msgsz);

struct tr_ads_stats {
    long rows;              /* campaign days written */
    long accounts, failed;  /* accounts read, and those that failed */
    long rates;             /* official rates stored */
    enum tr_fb_fault fault; /* the first account's fault */
};

/*
 * Syncs the days from since to until (YYYY-MM-DD): every account, then
 * the rates; one ads_sync_runs row.  Each account and rate is said on log.
 * TR_OK when every account was read; else the first failure (the others
 * still read), with st->fault.
 */
enum tr_err tr_ads_sync(struct tr_store *store, const struct tr_config *cfg,
                        const struct tr_rules *rules, const char *since,
                        const char *until, const struct tr_log *log,
                        struct tr_ads_stats *st, char *msg, size_t msgsz);

/* Whether this process is to sync now (the deliver sidecar, every
 * ADS_SYNC_INTERVAL_S, one host at a time): 1, 0, or -1 with msg. */
int tr_ads_due(struct tr_store *store, const struct tr_config *cfg, char *msg,
               size_t msgsz);

#endif
