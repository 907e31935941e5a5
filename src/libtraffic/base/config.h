/*
 * config.h: the service's configuration.
 *
 * One env file of KEY=VALUE lines (the seed's env.env format: "#" comments,
 * optional "export ", optional quotes), its path from TRAFFIC_ENV_FILE or
 * TR_CONFIG_DEFAULT_FILE; real environment variables override it.  A missing
 * default file is fine; a missing file that was named is an error.  Unknown
 * keys are ignored.  Every key is validated by tr_config_finish, which
 * stops at the first bad one with a line naming it.  Secrets never appear in
 * a message: tr_config_dump masks them (secret.h).  The file's format is
 * envfile.h's.
 */
#ifndef TR_CONFIG_H
#define TR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/chats.h"
#include "base/err.h"
#include "base/utmfields.h"

#ifndef TR_CONFIG_DEFAULT_FILE /* the build's: $(sysconfdir)/traffic-webhook/  \
                                */
#define TR_CONFIG_DEFAULT_FILE "/etc/traffic-webhook/traffic-webhook.env"
#endif
#define TR_SECRET_MIN 16 /* characters of WEBHOOK_SECRET, ADMIN_TOKEN */
#define TR_BODY_MAX_BYTES_DEFAULT (1024 * 1024)    /* MAX_BODY_BYTES default */
#define TR_BODY_MAX_BYTES_LIMIT (64 * 1024 * 1024) /* its largest value */

enum tr_config_key {
    TR_CFG_DATABASE_URL,
    TR_CFG_AMOCRM_DOMAIN,
    TR_CFG_AMOCRM_ACCESS_TOKEN,
    TR_CFG_AMOCRM_API_BASE,
    TR_CFG_AMOCRM_PIPELINE_ID,
    TR_CFG_AMOCRM_STATUS_ID,
    TR_CFG_PRODUCT_NAME,
    TR_CFG_CURRENCY,
    TR_CFG_TELEGRAM_BOT_TOKEN,
    TR_CFG_TELEGRAM_CHAT_IDS,
    TR_CFG_TELEGRAM_API_BASE,
    TR_CFG_WEBHOOK_SECRET,
    TR_CFG_ADMIN_TOKEN,
    TR_CFG_TARGETOLOGISTS_FILE,
    TR_CFG_SPOOL_DIR,
    TR_CFG_MAX_BODY_BYTES,
    TR_CFG_UTM_FIELDS,
    TR_CFG_DB_STATEMENT_TIMEOUT_MS,
    TR_CFG_DB_ANSWER_MS,
    TR_CFG_TELEGRAM_TIMEOUT_MS,
    TR_CFG_TELEGRAM_RETRY_BASE_MS,
    TR_CFG_TELEGRAM_MAX_ATTEMPTS,
    TR_CFG_TELEGRAM_MAX_AGE_S,
    TR_CFG_TELEGRAM_CHAT_INTERVAL_MS,
    TR_CFG_TELEGRAM_GROUP_PER_MINUTE,
    TR_CFG_TELEGRAM_BATCH_AFTER,
    TR_CFG_AMOCRM_CONFIRM,
    TR_CFG_AMOCRM_TIMEOUT_MS,
    TR_CFG_AMOCRM_MAX_WAIT_S,
    TR_CFG_AMOCRM_RATE,
    TR_CFG_TELEGRAM_CORRECTIONS,
    TR_CFG_RECONCILE_INTERVAL_S,
    TR_CFG_RECONCILE_WINDOW,
    TR_CFG_WEBHOOK_PUBLIC_URL,
    TR_CFG_ALERT_CHAT_IDS,
    TR_CFG_ALERT_SILENCE_H,
    TR_CFG_ALERT_CHECK_S,
    TR_CFG_ALERT_SPOOL_S,
    TR_CFG_ALERT_MIN_S,
    TR_CFG_DIGEST_TZ,
    TR_CFG_DIGEST_AT,
    TR_CFG_METRICS_FILE,
    TR_CFG_FACEBOOK_ADS_TOKEN,
    TR_CFG_FACEBOOK_AD_ACCOUNTS,
    TR_CFG_FACEBOOK_API_BASE,
    TR_CFG_RATES_API_BASE,
    TR_CFG_ROI_TARGET_PCT,
    TR_CFG_ADS_SYNC_INTERVAL_S,
    TR_CFG_ADS_LOOKBACK_DAYS,
    TR_CFG_DIGEST_ROI_DAY,
    TR_CFG_NKEYS
};

struct tr_config {
    char *raw[TR_CFG_NKEYS]; /* owned; NULL when unset */
    /* validated values, filled by tr_config_finish; strings point into raw */
    const char *database_url;
    const char *amocrm_domain;
    const char *amocrm_access_token;
    const char *amocrm_api_base; /* no trailing "/" */
    int64_t pipeline_id;
    int64_t status_id;
    const char *product_name;
    const char *currency;
    const char *telegram_bot_token;
    struct tr_chat chats[TR_CHATS_MAX];
    size_t nchats;
    struct tr_chat alert_chats[TR_CHATS_MAX]; /* ALERT_CHAT_IDS */
    size_t nalert_chats;
    const char *telegram_api_base; /* no trailing "/" */
    const char *webhook_secret;
    const char *admin_token;
    const char *targetologists_file;
    const char *spool_dir;
    size_t max_body_bytes;
    struct tr_utm_map utm_map;
    long statement_timeout_ms;
    long db_answer_ms; /* a request's wait for the database */
    /* Telegram delivery: see tr_notify */
    long tg_timeout_ms;       /* one sendMessage, in all */
    long tg_retry_base_ms;    /* first backoff; doubles up to 1 h */
    long tg_max_attempts;     /* then the row is failed */
    long tg_max_age_s;        /* likewise, counted from the sale */
    long tg_chat_interval_ms; /* between two messages to one chat */
    long tg_group_per_minute; /* to one group; 0: no such limit */
    long tg_batch_after;      /* more due than this: combined; 0: never */
    /* AmoCRM API: see tr_enrich */
    long amo_confirm;    /* 1: a sale the API denies is not sent */
    long amo_timeout_ms; /* one request, in all */
    long amo_max_wait_s; /* then the message goes out anyway */
    long amo_rate;       /* requests a second, the whole pool */
    long tg_corrections; /* 1: reversals and restorations are replied to */
    /* reconciliation with the AmoCRM API: see tr_reconcile */
    long reconcile_interval_s;      /* the sidecar's, 0: off */
    long long reconcile_window_s;   /* how far back it looks */
    const char *webhook_public_url; /* this service's URL in AmoCRM */
    long alert_silence_h;           /* no webhook that long: an alert; 0 off */
    long alert_check_s;     /* the sidecar looks for problems so often */
    long alert_spool_s;     /* requests spooled longer: an alert */
    long alert_min_s;       /* a change of an alert lasts this long before
                             * it is posted */
    const char *tz;         /* DIGEST_TZ: the team's day */
    int digest_minute;      /* DIGEST_AT as minutes after midnight; -1 off */
    char metrics_file[512]; /* METRICS_FILE, else SPOOL_DIR/.metrics */
    /* ad spend and ROI (outgoing/ads.h parses the accounts): nothing of
     * it runs without the token */
    const char *fb_token;       /* FACEBOOK_ADS_TOKEN, or NULL */
    const char *fb_accounts;    /* FACEBOOK_AD_ACCOUNTS, raw, or NULL */
    const char *fb_api_base;    /* FACEBOOK_API_BASE, without a final / */
    const char *rates_api_base; /* RATES_API_BASE, without a final / */
    long roi_target_pct;        /* ROI_TARGET_PCT: below it, marked */
    long ads_sync_interval_s;   /* ADS_SYNC_INTERVAL_S; 0 off */
    long ads_lookback_days;     /* ADS_LOOKBACK_DAYS: days re-read */
    int digest_roi_yesterday;   /* DIGEST_ROI_DAY=yesterday */
    char env_file[512];         /* the file read, or "" */
    char warnings[1024];        /* the env file's, lines; "" when none */
};

/* Fills cfg with nothing set. */
void tr_config_init(struct tr_config *cfg);

/* Frees what cfg owns. */
void tr_config_release(struct tr_config *cfg);

/* The name of a key ("DATABASE_URL"). */
const char *tr_config_key_name(enum tr_config_key key);

/* Sets key (by name) to value; unknown names are ignored. */
enum tr_err tr_config_set(struct tr_config *cfg, const char *key,
                          const char *value, char *msg, size_t msgsz);

/*
 * Reads an env file into cfg.  A missing file is an error only when
 * required.  Syntax errors name the file and line.
 */
enum tr_err tr_config_load_file(struct tr_config *cfg, const char *path,
                                int required, char *msg, size_t msgsz);

/* Copies every known key present in the environment into cfg. */
enum tr_err tr_config_load_env(struct tr_config *cfg, char *msg, size_t msgsz);

/* Applies defaults and validates every key: "KEY: reason". */
enum tr_err tr_config_finish(struct tr_config *cfg, char *msg, size_t msgsz);

/*
 * The usual sequence: the env file (TRAFFIC_ENV_FILE, required when set, or
 * the default, optional), the environment, tr_config_finish.
 */
enum tr_err tr_config_load(struct tr_config *cfg, char *msg, size_t msgsz);

/* TR_ECONFIG "KEY is not set" when key has no value. */
enum tr_err tr_config_require(const struct tr_config *cfg,
                              enum tr_config_key key, char *msg, size_t msgsz);

/*
 * Appends "KEY=value" lines for every key to buf, secrets masked.  Returns
 * what tr_buf_add returns.
 */
struct tr_buf;
enum tr_err tr_config_dump(const struct tr_config *cfg, struct tr_buf *buf);

#endif
