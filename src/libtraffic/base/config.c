/*
 * config.c: reading and validating the env file and the environment.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unistr.h>

#include "base/buf.h"
#include "base/chats.h"
#include "base/config.h"
#include "base/envfile.h"
#include "base/num.h"
#include "base/secret.h"
#include "base/text.h"

enum kind { K_TEXT, K_SECRET, K_URL };

static const struct {
    const char *name;
    enum kind kind;
    const char *def;
} keys[TR_CFG_NKEYS] = {
    [TR_CFG_DATABASE_URL] = {"DATABASE_URL", K_URL, NULL},
    [TR_CFG_AMOCRM_DOMAIN] = {"AMOCRM_DOMAIN", K_TEXT, NULL},
    [TR_CFG_AMOCRM_ACCESS_TOKEN] = {"AMOCRM_ACCESS_TOKEN", K_SECRET, NULL},
    [TR_CFG_AMOCRM_API_BASE] = {"AMOCRM_API_BASE", K_TEXT, NULL},
    [TR_CFG_AMOCRM_PIPELINE_ID] = {"AMOCRM_PIPELINE_ID", K_TEXT, "10418746"},
    [TR_CFG_AMOCRM_STATUS_ID] = {"AMOCRM_STATUS_ID", K_TEXT, "142"},
    [TR_CFG_PRODUCT_NAME] = {"PRODUCT_NAME", K_TEXT, "Main Product (VAMUS RM)"},
    [TR_CFG_CURRENCY] = {"CURRENCY", K_TEXT, "KZT"},
    [TR_CFG_TELEGRAM_BOT_TOKEN] = {"TELEGRAM_BOT_TOKEN", K_SECRET, NULL},
    [TR_CFG_TELEGRAM_CHAT_IDS] = {"TELEGRAM_CHAT_IDS", K_TEXT, NULL},
    [TR_CFG_TELEGRAM_API_BASE] = {"TELEGRAM_API_BASE", K_TEXT,
                                  "https://api.telegram.org"},
    [TR_CFG_WEBHOOK_SECRET] = {"WEBHOOK_SECRET", K_SECRET, NULL},
    [TR_CFG_ADMIN_TOKEN] = {"ADMIN_TOKEN", K_SECRET, NULL},
    [TR_CFG_TARGETOLOGISTS_FILE] = {"TARGETOLOGISTS_FILE", K_TEXT, NULL},
    [TR_CFG_SPOOL_DIR] = {"SPOOL_DIR", K_TEXT, "/var/spool/traffic-webhook"},
    [TR_CFG_MAX_BODY_BYTES] = {"MAX_BODY_BYTES", K_TEXT, "1048576"},
    [TR_CFG_UTM_FIELDS] = {"UTM_FIELDS", K_TEXT, NULL},
    [TR_CFG_DB_STATEMENT_TIMEOUT_MS] = {"DB_STATEMENT_TIMEOUT_MS", K_TEXT,
                                        "5000"},
    [TR_CFG_DB_ANSWER_MS] = {"DB_ANSWER_MS", K_TEXT, "1500"},
    [TR_CFG_TELEGRAM_TIMEOUT_MS] = {"TELEGRAM_TIMEOUT_MS", K_TEXT, "10000"},
    [TR_CFG_TELEGRAM_RETRY_BASE_MS] = {"TELEGRAM_RETRY_BASE_MS", K_TEXT,
                                       "5000"},
    [TR_CFG_TELEGRAM_MAX_ATTEMPTS] = {"TELEGRAM_MAX_ATTEMPTS", K_TEXT, "50"},
    [TR_CFG_TELEGRAM_MAX_AGE_S] = {"TELEGRAM_MAX_AGE_S", K_TEXT, "86400"},
    [TR_CFG_TELEGRAM_CHAT_INTERVAL_MS] = {"TELEGRAM_CHAT_INTERVAL_MS", K_TEXT,
                                          "1000"},
    [TR_CFG_TELEGRAM_GROUP_PER_MINUTE] = {"TELEGRAM_GROUP_PER_MINUTE", K_TEXT,
                                          "20"},
    [TR_CFG_TELEGRAM_BATCH_AFTER] = {"TELEGRAM_BATCH_AFTER", K_TEXT, "3"},
    [TR_CFG_AMOCRM_CONFIRM] = {"AMOCRM_CONFIRM", K_TEXT, "1"},
    [TR_CFG_AMOCRM_TIMEOUT_MS] = {"AMOCRM_TIMEOUT_MS", K_TEXT, "5000"},
    [TR_CFG_AMOCRM_MAX_WAIT_S] = {"AMOCRM_MAX_WAIT_S", K_TEXT, "120"},
    [TR_CFG_AMOCRM_RATE] = {"AMOCRM_RATE", K_TEXT, "7"},
    [TR_CFG_TELEGRAM_CORRECTIONS] = {"TELEGRAM_CORRECTIONS", K_TEXT, "1"},
    [TR_CFG_RECONCILE_INTERVAL_S] = {"RECONCILE_INTERVAL_S", K_TEXT, "900"},
    [TR_CFG_RECONCILE_WINDOW] = {"RECONCILE_WINDOW", K_TEXT, "72h"},
    [TR_CFG_WEBHOOK_PUBLIC_URL] = {"WEBHOOK_PUBLIC_URL", K_TEXT, NULL},
    [TR_CFG_ALERT_CHAT_IDS] = {"ALERT_CHAT_IDS", K_TEXT, NULL},
    [TR_CFG_ALERT_SILENCE_H] = {"ALERT_SILENCE_H", K_TEXT, "24"},
    [TR_CFG_ALERT_CHECK_S] = {"ALERT_CHECK_S", K_TEXT, "60"},
    [TR_CFG_ALERT_SPOOL_S] = {"ALERT_SPOOL_S", K_TEXT, "300"},
    [TR_CFG_ALERT_MIN_S] = {"ALERT_MIN_S", K_TEXT, "120"},
    [TR_CFG_DIGEST_TZ] = {"DIGEST_TZ", K_TEXT, "Asia/Almaty"},
    [TR_CFG_DIGEST_AT] = {"DIGEST_AT", K_TEXT, "21:00"},
    [TR_CFG_METRICS_FILE] = {"METRICS_FILE", K_TEXT, NULL},
    [TR_CFG_FACEBOOK_ADS_TOKEN] = {"FACEBOOK_ADS_TOKEN", K_SECRET, NULL},
    [TR_CFG_FACEBOOK_AD_ACCOUNTS] = {"FACEBOOK_AD_ACCOUNTS", K_TEXT, NULL},
    [TR_CFG_FACEBOOK_API_BASE] = {"FACEBOOK_API_BASE", K_TEXT,
                                  "https://graph.facebook.com/v21.0"},
    [TR_CFG_RATES_API_BASE] = {"RATES_API_BASE", K_TEXT,
                               "https://nationalbank.kz/rss"},
    [TR_CFG_ROI_TARGET_PCT] = {"ROI_TARGET_PCT", K_TEXT, "300"},
    [TR_CFG_ADS_SYNC_INTERVAL_S] = {"ADS_SYNC_INTERVAL_S", K_TEXT, "21600"},
    [TR_CFG_ADS_LOOKBACK_DAYS] = {"ADS_LOOKBACK_DAYS", K_TEXT, "7"},
    [TR_CFG_DIGEST_ROI_DAY] = {"DIGEST_ROI_DAY", K_TEXT, "today"},
};

void
tr_config_init(struct tr_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    tr_utm_map_init(&cfg->utm_map);
}

void
tr_config_release(struct tr_config *cfg)
{
    size_t i;

    for (i = 0; i < TR_CFG_NKEYS; i++)
        free(cfg->raw[i]);
    tr_utm_map_release(&cfg->utm_map);
    memset(cfg, 0, sizeof(*cfg));
}

const char *
tr_config_key_name(enum tr_config_key key)
{
    return key < TR_CFG_NKEYS ? keys[key].name : "?";
}

enum tr_err
tr_config_set(struct tr_config *cfg, const char *key, const char *value,
              char *msg, size_t msgsz)
{
    size_t i;
    char *v;

    for (i = 0; i < TR_CFG_NKEYS; i++) {
        if (strcmp(keys[i].name, key) != 0)
            continue;
        if ((v = strdup(value)) == NULL)
            return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
        free(cfg->raw[i]);
        cfg->raw[i] = v;
        return TR_OK;
    }
    return TR_OK;
}

/* The env file's KEY=VALUE, as envfile.c hands it over. */
static enum tr_err
set_from_file(void *arg, const char *key, const char *value, char *msg,
              size_t msgsz)
{
    return tr_config_set(arg, key, value, msg, msgsz);
}

enum tr_err
tr_config_load_file(struct tr_config *cfg, const char *path, int required,
                    char *msg, size_t msgsz)
{
    struct tr_envfile_seen seen = {.n = 0};
    const struct tr_envfile_sink sink = {set_from_file, cfg, cfg->warnings,
                                         sizeof(cfg->warnings), &seen};
    int found = 0;
    enum tr_err err =
        tr_envfile_read(path, required, &sink, &found, msg, msgsz);

    if (err == TR_OK && found)
        snprintf(cfg->env_file, sizeof(cfg->env_file), "%s", path);
    return err;
}

enum tr_err
tr_config_load_env(struct tr_config *cfg, char *msg, size_t msgsz)
{
    const char *v;
    enum tr_err err;
    size_t i;

    for (i = 0; i < TR_CFG_NKEYS; i++) {
        if ((v = getenv(keys[i].name)) == NULL)
            continue;
        if ((err = tr_config_set(cfg, keys[i].name, v, msg, msgsz)) != TR_OK)
            return err;
    }
    return TR_OK;
}

static enum tr_err
bad(char *msg, size_t msgsz, enum tr_config_key key, const char *why)
{
    return tr_fail(msg, msgsz, TR_ECONFIG, "%s: %s", keys[key].name, why);
}

/* Printable ASCII without spaces: what tokens and URLs consist of. */
static int
is_token(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s <= ' ' || *s > '~')
            return 0;
    return 1;
}

static enum tr_err
check_base_url(struct tr_config *cfg, enum tr_config_key key, const char **out,
               char *msg, size_t msgsz)
{
    char *v = cfg->raw[key];
    size_t n;

    *out = NULL;
    if (v == NULL || v[0] == '\0')
        return TR_OK;
    if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) ||
        !is_token(v) || strchr(v, '?') != NULL || strchr(v, '#') != NULL)
        return bad(msg, msgsz, key,
                   "must be an http:// or https:// base URL without query");
    n = strlen(v);
    while (n > 0 && v[n - 1] == '/')
        v[--n] = '\0';
    *out = v;
    return TR_OK;
}

/* A list of chats (TELEGRAM_CHAT_IDS, ALERT_CHAT_IDS) into chats[*n]. */
static enum tr_err
parse_chats(struct tr_config *cfg, enum tr_config_key key,
            struct tr_chat *chats, size_t *nchats, char *msg, size_t msgsz)
{
    char why[160];

    if (tr_chats_parse(cfg->raw[key], chats, nchats, why, sizeof(why)) != TR_OK)
        return bad(msg, msgsz, key, why);
    return TR_OK;
}

static enum tr_err
parse_num(struct tr_config *cfg, enum tr_config_key key, int64_t lo, int64_t hi,
          int64_t *out, char *msg, size_t msgsz)
{
    if (strcmp(cfg->raw[key], "0") == 0)
        *out = 0; /* tr_parse_id takes ids, which start at 1 */
    else if (tr_parse_id(cfg->raw[key], out) != 0)
        *out = lo - 1;
    if (*out < lo || *out > hi)
        return tr_fail(msg, msgsz, TR_ECONFIG,
                       "%s: \"%.32s\" is not an integer from %lld to %lld",
                       keys[key].name, cfg->raw[key], (long long)lo,
                       (long long)hi);
    return TR_OK;
}

/* Empty values are unset; unset ones take their default; all are UTF-8. */
static enum tr_err
finish_defaults(struct tr_config *cfg, char *msg, size_t msgsz)
{
    size_t i;

    for (i = 0; i < TR_CFG_NKEYS; i++) {
        if (cfg->raw[i] != NULL && cfg->raw[i][0] == '\0') {
            free(cfg->raw[i]);
            cfg->raw[i] = NULL;
        }
        if (cfg->raw[i] == NULL && keys[i].def != NULL &&
            (cfg->raw[i] = strdup(keys[i].def)) == NULL)
            return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
        if (cfg->raw[i] != NULL &&
            u8_check((const uint8_t *)cfg->raw[i], strlen(cfg->raw[i])))
            return bad(msg, msgsz, (enum tr_config_key)i,
                       "value is not valid UTF-8");
    }
    return TR_OK;
}

/* The AmoCRM account: its subdomain, token, API base, what a sale is. */
static enum tr_err
finish_amocrm(struct tr_config *cfg, char *msg, size_t msgsz)
{
    enum tr_err err;
    const char *v;
    size_t i;

    if ((v = cfg->raw[TR_CFG_AMOCRM_DOMAIN]) != NULL) {
        for (i = 0; v[i] != '\0'; i++)
            if (!isalnum((unsigned char)v[i]) && v[i] != '-')
                return bad(msg, msgsz, TR_CFG_AMOCRM_DOMAIN,
                           "must be the account subdomain (letters, digits, "
                           "\"-\"), e.g. onaiagencykz");
        if (i > 63)
            return bad(msg, msgsz, TR_CFG_AMOCRM_DOMAIN, "longer than 63");
    }
    cfg->amocrm_domain = v;
    v = cfg->raw[TR_CFG_AMOCRM_ACCESS_TOKEN];
    if (v != NULL && !is_token(v))
        return bad(msg, msgsz, TR_CFG_AMOCRM_ACCESS_TOKEN,
                   "contains spaces or control characters");
    cfg->amocrm_access_token = v;
    if ((err = check_base_url(cfg, TR_CFG_AMOCRM_API_BASE,
                              &cfg->amocrm_api_base, msg, msgsz)) != TR_OK)
        return err;
    if ((err = parse_num(cfg, TR_CFG_AMOCRM_PIPELINE_ID, 1, INT64_MAX,
                         &cfg->pipeline_id, msg, msgsz)) != TR_OK)
        return err;
    return parse_num(cfg, TR_CFG_AMOCRM_STATUS_ID, 1, INT64_MAX,
                     &cfg->status_id, msg, msgsz);
}

/* What the message says besides the sale: the product and currency. */
static enum tr_err
finish_message(struct tr_config *cfg, char *msg, size_t msgsz)
{
    const char *v = cfg->raw[TR_CFG_PRODUCT_NAME];

    if (strlen(v) > 200)
        return bad(msg, msgsz, TR_CFG_PRODUCT_NAME, "longer than 200 bytes");
    cfg->product_name = v;
    v = cfg->raw[TR_CFG_CURRENCY];
    if (strlen(v) != 3 || !isupper((unsigned char)v[0]) ||
        !isupper((unsigned char)v[1]) || !isupper((unsigned char)v[2]))
        return bad(msg, msgsz, TR_CFG_CURRENCY,
                   "must be an ISO 4217 code such as KZT");
    cfg->currency = v;
    return TR_OK;
}

/* The bot token, its API base and the chats. */
static enum tr_err
finish_telegram(struct tr_config *cfg, char *msg, size_t msgsz)
{
    enum tr_err err;
    const char *v, *colon;

    if ((err = check_base_url(cfg, TR_CFG_TELEGRAM_API_BASE,
                              &cfg->telegram_api_base, msg, msgsz)) != TR_OK)
        return err;
    if ((v = cfg->raw[TR_CFG_TELEGRAM_BOT_TOKEN]) != NULL) {
        colon = strchr(v, ':');
        if (colon == NULL || colon == v || colon[1] == '\0' ||
            strspn(v, "0123456789") != (size_t)(colon - v) ||
            strspn(colon + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                              "TUVWXYZ0123456789_-") != strlen(colon + 1))
            return bad(msg, msgsz, TR_CFG_TELEGRAM_BOT_TOKEN,
                       "does not look like a bot token (123456:ABC-...)");
    }
    cfg->telegram_bot_token = v;
    if ((err = parse_chats(cfg, TR_CFG_TELEGRAM_CHAT_IDS, cfg->chats,
                           &cfg->nchats, msg, msgsz)) != TR_OK)
        return err;
    return parse_chats(cfg, TR_CFG_ALERT_CHAT_IDS, cfg->alert_chats,
                       &cfg->nalert_chats, msg, msgsz);
}

/* The secrets, the files and directories, the body limit. */
static enum tr_err
finish_local(struct tr_config *cfg, char *msg, size_t msgsz)
{
    enum tr_err err;
    const char *v;
    int64_t n;
    size_t i;

    for (i = TR_CFG_WEBHOOK_SECRET; i <= TR_CFG_ADMIN_TOKEN; i++) {
        v = cfg->raw[i];
        if (v != NULL && (!is_token(v) || strlen(v) < TR_SECRET_MIN))
            return bad(msg, msgsz, (enum tr_config_key)i,
                       "must be at least 16 printable characters without "
                       "spaces (openssl rand -hex 24)");
    }
    cfg->webhook_secret = cfg->raw[TR_CFG_WEBHOOK_SECRET];
    cfg->admin_token = cfg->raw[TR_CFG_ADMIN_TOKEN];
    cfg->targetologists_file = cfg->raw[TR_CFG_TARGETOLOGISTS_FILE];
    v = cfg->raw[TR_CFG_SPOOL_DIR];
    if (v[0] != '/')
        return bad(msg, msgsz, TR_CFG_SPOOL_DIR, "must be an absolute path");
    cfg->spool_dir = v;
    if ((err = parse_num(cfg, TR_CFG_MAX_BODY_BYTES, 1024,
                         TR_BODY_MAX_BYTES_LIMIT, &n, msg, msgsz)) != TR_OK)
        return err;
    cfg->max_body_bytes = (size_t)n;
    return TR_OK;
}

/* The numbers that are plain longs: timeouts, retries, pacing, rates. */
static enum tr_err
finish_numbers(struct tr_config *cfg, char *msg, size_t msgsz)
{
    static const struct {
        enum tr_config_key key;
        int64_t lo, hi;
        size_t off;
    } nums[] = {
        {TR_CFG_DB_STATEMENT_TIMEOUT_MS, 100, 600000,
         offsetof(struct tr_config, statement_timeout_ms)},
        {TR_CFG_DB_ANSWER_MS, 100, 60000,
         offsetof(struct tr_config, db_answer_ms)},
        {TR_CFG_TELEGRAM_TIMEOUT_MS, 100, 120000,
         offsetof(struct tr_config, tg_timeout_ms)},
        {TR_CFG_TELEGRAM_RETRY_BASE_MS, 10, 3600000,
         offsetof(struct tr_config, tg_retry_base_ms)},
        {TR_CFG_TELEGRAM_MAX_ATTEMPTS, 1, 1000,
         offsetof(struct tr_config, tg_max_attempts)},
        {TR_CFG_TELEGRAM_MAX_AGE_S, 1, 30 * 86400,
         offsetof(struct tr_config, tg_max_age_s)},
        {TR_CFG_TELEGRAM_CHAT_INTERVAL_MS, 0, 60000,
         offsetof(struct tr_config, tg_chat_interval_ms)},
        {TR_CFG_TELEGRAM_GROUP_PER_MINUTE, 0, 1000,
         offsetof(struct tr_config, tg_group_per_minute)},
        {TR_CFG_TELEGRAM_BATCH_AFTER, 0, 100,
         offsetof(struct tr_config, tg_batch_after)},
        {TR_CFG_AMOCRM_CONFIRM, 0, 1, offsetof(struct tr_config, amo_confirm)},
        {TR_CFG_AMOCRM_TIMEOUT_MS, 100, 60000,
         offsetof(struct tr_config, amo_timeout_ms)},
        {TR_CFG_AMOCRM_MAX_WAIT_S, 1, 86400,
         offsetof(struct tr_config, amo_max_wait_s)},
        {TR_CFG_AMOCRM_RATE, 1, 7, offsetof(struct tr_config, amo_rate)},
        {TR_CFG_TELEGRAM_CORRECTIONS, 0, 1,
         offsetof(struct tr_config, tg_corrections)},
        {TR_CFG_RECONCILE_INTERVAL_S, 0, 86400,
         offsetof(struct tr_config, reconcile_interval_s)},
        {TR_CFG_ALERT_SILENCE_H, 0, 24 * 90,
         offsetof(struct tr_config, alert_silence_h)},
        {TR_CFG_ALERT_CHECK_S, 1, 86400,
         offsetof(struct tr_config, alert_check_s)},
        {TR_CFG_ALERT_SPOOL_S, 1, 86400,
         offsetof(struct tr_config, alert_spool_s)},
        {TR_CFG_ALERT_MIN_S, 0, 86400, offsetof(struct tr_config, alert_min_s)},
    };
    enum tr_err err;
    int64_t n;
    size_t i;

    for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if ((err = parse_num(cfg, nums[i].key, nums[i].lo, nums[i].hi, &n, msg,
                             msgsz)) != TR_OK)
            return err;
        *(long *)((char *)cfg + nums[i].off) = (long)n;
    }
    return TR_OK;
}

/* Reconciliation: how far back, and the URL AmoCRM's hook must post to. */
static enum tr_err
finish_reconcile(struct tr_config *cfg, char *msg, size_t msgsz)
{
    const char *v = cfg->raw[TR_CFG_WEBHOOK_PUBLIC_URL];

    cfg->reconcile_window_s =
        tr_text_parse_age(cfg->raw[TR_CFG_RECONCILE_WINDOW]);
    if (cfg->reconcile_window_s < 60)
        return bad(msg, msgsz, TR_CFG_RECONCILE_WINDOW,
                   "must be an age of at least a minute: 72h, 7d, 3600s");
    if (v != NULL &&
        ((strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) ||
         !is_token(v)))
        return bad(msg, msgsz, TR_CFG_WEBHOOK_PUBLIC_URL,
                   "must be the http(s) URL AmoCRM posts to");
    cfg->webhook_public_url = v;
    return TR_OK;
}

/* The team's time zone (an IANA name: the day of the status page and the
 * daily summary), when the summary goes, and where the metrics live. */
static enum tr_err
finish_reports(struct tr_config *cfg, char *msg, size_t msgsz)
{
    const char *v = cfg->raw[TR_CFG_DIGEST_TZ];
    char path[600];
    int h, m;

    if (strlen(v) > 63 ||
        strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789/_+-") != strlen(v) ||
        strstr(v, "..") != NULL || v[0] == '/')
        return bad(msg, msgsz, TR_CFG_DIGEST_TZ,
                   "must be a time zone name such as Asia/Almaty");
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", v);
    if (access("/usr/share/zoneinfo", F_OK) == 0 && access(path, R_OK) != 0)
        return bad(msg, msgsz, TR_CFG_DIGEST_TZ,
                   "no such time zone (see /usr/share/zoneinfo)");
    cfg->tz = v;
    v = cfg->raw[TR_CFG_DIGEST_AT];
    if (strcmp(v, "off") == 0) {
        cfg->digest_minute = -1;
    } else if (strlen(v) != 5 || v[2] != ':' || strspn(v, "0123456789:") != 5 ||
               (h = (v[0] - '0') * 10 + v[1] - '0') > 23 ||
               (m = (v[3] - '0') * 10 + v[4] - '0') > 59) {
        return bad(msg, msgsz, TR_CFG_DIGEST_AT,
                   "must be a time HH:MM (21:00) or off");
    } else {
        cfg->digest_minute = h * 60 + m;
    }
    v = cfg->raw[TR_CFG_METRICS_FILE];
    if (v != NULL && v[0] != '/')
        return bad(msg, msgsz, TR_CFG_METRICS_FILE, "must be an absolute path");
    if ((size_t)snprintf(cfg->metrics_file, sizeof(cfg->metrics_file), "%s%s",
                         v ? v : cfg->spool_dir,
                         v ? "" : "/.metrics") >= sizeof(cfg->metrics_file))
        return bad(msg, msgsz, v ? TR_CFG_METRICS_FILE : TR_CFG_SPOOL_DIR,
                   "path too long");
    return TR_OK;
}

/* Ad spend and ROI: the token, the two APIs' bases, the numbers.  The
 * accounts' list is outgoing/ads.c's to parse (traffic-ctl check says a
 * bad one). */
static enum tr_err
finish_ads(struct tr_config *cfg, char *msg, size_t msgsz)
{
    int64_t v[3];
    enum tr_err err;

    cfg->fb_token = cfg->raw[TR_CFG_FACEBOOK_ADS_TOKEN];
    if (cfg->fb_token != NULL && !is_token(cfg->fb_token))
        return bad(msg, msgsz, TR_CFG_FACEBOOK_ADS_TOKEN,
                   "must be one word of printable characters");
    cfg->fb_accounts = cfg->raw[TR_CFG_FACEBOOK_AD_ACCOUNTS];
    if ((err = check_base_url(cfg, TR_CFG_FACEBOOK_API_BASE, &cfg->fb_api_base,
                              msg, msgsz)) != TR_OK ||
        (err = check_base_url(cfg, TR_CFG_RATES_API_BASE, &cfg->rates_api_base,
                              msg, msgsz)) != TR_OK ||
        (err = parse_num(cfg, TR_CFG_ROI_TARGET_PCT, 0, 100000, &v[0], msg,
                         msgsz)) != TR_OK ||
        (err = parse_num(cfg, TR_CFG_ADS_SYNC_INTERVAL_S, 0, 604800, &v[1], msg,
                         msgsz)) != TR_OK ||
        (err = parse_num(cfg, TR_CFG_ADS_LOOKBACK_DAYS, 0, 90, &v[2], msg,
                         msgsz)) != TR_OK)
        return err;
    cfg->roi_target_pct = (long)v[0];
    cfg->digest_roi_yesterday =
        strcmp(cfg->raw[TR_CFG_DIGEST_ROI_DAY], "yesterday") == 0;
    if (!cfg->digest_roi_yesterday &&
        strcmp(cfg->raw[TR_CFG_DIGEST_ROI_DAY], "today") != 0)
        return bad(msg, msgsz, TR_CFG_DIGEST_ROI_DAY,
                   "must be today or yesterday");
    cfg->ads_sync_interval_s = (long)v[1];
    cfg->ads_lookback_days = (long)v[2];
    return TR_OK;
}

static enum tr_err
finish_utm(struct tr_config *cfg, char *msg, size_t msgsz)
{
    char why[160];

    tr_utm_map_release(&cfg->utm_map);
    if (cfg->raw[TR_CFG_UTM_FIELDS] != NULL &&
        tr_utm_map_parse(&cfg->utm_map, cfg->raw[TR_CFG_UTM_FIELDS], why,
                         sizeof(why)) != TR_OK)
        return tr_fail(msg, msgsz, TR_ECONFIG, "UTM_FIELDS: %s", why);
    return TR_OK;
}

enum tr_err
tr_config_finish(struct tr_config *cfg, char *msg, size_t msgsz)
{
    enum tr_err err;

    if ((err = finish_defaults(cfg, msg, msgsz)) != TR_OK)
        return err;
    cfg->database_url = cfg->raw[TR_CFG_DATABASE_URL];
    if ((err = finish_amocrm(cfg, msg, msgsz)) != TR_OK ||
        (err = finish_message(cfg, msg, msgsz)) != TR_OK ||
        (err = finish_telegram(cfg, msg, msgsz)) != TR_OK ||
        (err = finish_local(cfg, msg, msgsz)) != TR_OK ||
        (err = finish_numbers(cfg, msg, msgsz)) != TR_OK ||
        (err = finish_reconcile(cfg, msg, msgsz)) != TR_OK ||
        (err = finish_reports(cfg, msg, msgsz)) != TR_OK ||
        (err = finish_ads(cfg, msg, msgsz)) != TR_OK)
        return err;
    return finish_utm(cfg, msg, msgsz);
}

enum tr_err
tr_config_load(struct tr_config *cfg, char *msg, size_t msgsz)
{
    const char *path = getenv("TRAFFIC_ENV_FILE");
    enum tr_err err;

    if (path != NULL && path[0] != '\0')
        err = tr_config_load_file(cfg, path, 1, msg, msgsz);
    else
        err = tr_config_load_file(cfg, TR_CONFIG_DEFAULT_FILE, 0, msg, msgsz);
    if (err == TR_OK)
        err = tr_config_load_env(cfg, msg, msgsz);
    if (err == TR_OK)
        err = tr_config_finish(cfg, msg, msgsz);
    return err;
}

enum tr_err
tr_config_require(const struct tr_config *cfg, enum tr_config_key key,
                  char *msg, size_t msgsz)
{
    if (cfg->raw[key] == NULL || cfg->raw[key][0] == '\0')
        return tr_fail(msg, msgsz, TR_ECONFIG, "%s is not set", keys[key].name);
    return TR_OK;
}

enum tr_err
tr_config_dump(const struct tr_config *cfg, struct tr_buf *out)
{
    char masked[1024];
    enum tr_err err = TR_OK;
    size_t i;

    for (i = 0; i < TR_CFG_NKEYS && err == TR_OK; i++) {
        const char *v = cfg->raw[i];

        if (v == NULL)
            err = tr_buf_addf(out, "%s=\n", keys[i].name);
        else if (keys[i].kind == K_SECRET)
            err = tr_buf_addf(out, "%s=******** (set)\n", keys[i].name);
        else if (keys[i].kind == K_URL) {
            tr_secret_mask_url(v, masked, sizeof(masked));
            err = tr_buf_addf(out, "%s=%s\n", keys[i].name, masked);
        } else
            err = tr_buf_addf(out, "%s=%s\n", keys[i].name, v);
    }
    return err;
}
