/*
 * config.c: reading and validating the env file and the environment.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <unistr.h>

#include "body.h"
#include "buf.h"
#include "config.h"
#include "leads.h"

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
    [TR_CFG_PRODUCT_NAME] = {"PRODUCT_NAME", K_TEXT,
                             "Main Product (VAMUS RM)"},
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
    [TR_CFG_AMOCRM_CONFIRM] = {"AMOCRM_CONFIRM", K_TEXT, "1"},
    [TR_CFG_AMOCRM_TIMEOUT_MS] = {"AMOCRM_TIMEOUT_MS", K_TEXT, "5000"},
    [TR_CFG_AMOCRM_MAX_WAIT_S] = {"AMOCRM_MAX_WAIT_S", K_TEXT, "120"},
    [TR_CFG_AMOCRM_RATE] = {"AMOCRM_RATE", K_TEXT, "7"},
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

static void
trim(char **p, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)(*p)[*n - 1]))
        (*n)--;
}

static enum tr_err
parse_env_line(struct tr_config *cfg, char *line, size_t n, const char *path,
               size_t lineno, char *msg, size_t msgsz)
{
    char *eq, *key, *val;
    size_t kn, vn, i;

    trim(&line, &n);
    if (n == 0 || line[0] == '#')
        return TR_OK;
    if (n > 7 && strncmp(line, "export", 6) == 0 && isspace((unsigned char)line[6])) {
        line += 7;
        n -= 7;
        trim(&line, &n);
    }
    if ((eq = memchr(line, '=', n)) == NULL)
        return tr_fail(msg, msgsz, TR_ECONFIG, "%s:%zu: expected KEY=VALUE",
                       path, lineno);
    key = line;
    kn = (size_t)(eq - line);
    trim(&key, &kn);
    val = eq + 1;
    vn = n - (size_t)(val - line);
    trim(&val, &vn);
    if (kn == 0)
        return tr_fail(msg, msgsz, TR_ECONFIG, "%s:%zu: empty key", path,
                       lineno);
    for (i = 0; i < kn; i++)
        if (!isalnum((unsigned char)key[i]) && key[i] != '_')
            return tr_fail(msg, msgsz, TR_ECONFIG,
                           "%s:%zu: bad key name", path, lineno);
    if (vn >= 2 && (val[0] == '"' || val[0] == '\'') && val[vn - 1] == val[0]) {
        val++;
        vn -= 2;
    }
    key[kn] = '\0';
    val[vn] = '\0';
    return tr_config_set(cfg, key, val, msg, msgsz);
}

enum tr_err
tr_config_load_file(struct tr_config *cfg, const char *path, int required,
                    char *msg, size_t msgsz)
{
    struct tr_buf b;
    char *p, *nl;
    size_t lineno = 0;
    enum tr_err err;

    if (!required && access(path, F_OK) != 0 && errno == ENOENT)
        return TR_OK;
    tr_buf_init(&b, TR_CONFIG_FILE_MAX);
    if ((err = tr_buf_read_file(&b, path, msg, msgsz)) != TR_OK) {
        err = TR_ECONFIG;
        goto out;
    }
    if (b.data == NULL)
        goto out;   /* an empty file sets nothing */
    if (memchr(b.data, '\0', b.len) != NULL) {
        err = tr_fail(msg, msgsz, TR_ECONFIG, "\"%s\" is binary", path);
        goto out;
    }
    for (p = b.data; *p != '\0' && err == TR_OK; p = nl ? nl + 1 : p + strlen(p)) {
        lineno++;
        nl = strchr(p, '\n');
        err = parse_env_line(cfg, p, nl ? (size_t)(nl - p) : strlen(p), path,
                             lineno, msg, msgsz);
    }
out:
    if (err == TR_OK)
        snprintf(cfg->env_file, sizeof(cfg->env_file), "%s", path);
    tr_buf_release(&b);
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
check_base_url(struct tr_config *cfg, enum tr_config_key key,
               const char **out, char *msg, size_t msgsz)
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

static int
is_chat_id(const char *s, size_t n)
{
    size_t i = 0;

    if (n == 0 || n >= sizeof(((struct tr_chat *)0)->id))
        return 0;
    if (s[0] == '@') {
        if (n < 2)
            return 0;
        for (i = 1; i < n; i++)
            if (!isalnum((unsigned char)s[i]) && s[i] != '_')
                return 0;
        return 1;
    }
    if (s[0] == '-')
        i = 1;
    if (i == n || n - i > 19)
        return 0;
    for (; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static enum tr_err
parse_chats(struct tr_config *cfg, char *msg, size_t msgsz)
{
    const char *p = cfg->raw[TR_CFG_TELEGRAM_CHAT_IDS], *end, *colon;
    char thread[24];
    size_t n;

    cfg->nchats = 0;
    if (p == NULL)
        return TR_OK;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        end = p + strcspn(p, ", ");
        colon = memchr(p, ':', (size_t)(end - p));
        n = (size_t)((colon ? colon : end) - p);
        if (cfg->nchats == TR_CHATS_MAX)
            return bad(msg, msgsz, TR_CFG_TELEGRAM_CHAT_IDS,
                       "more than 16 chats");
        if (!is_chat_id(p, n))
            return tr_fail(msg, msgsz, TR_ECONFIG,
                           "TELEGRAM_CHAT_IDS: \"%.*s\" is not a chat id "
                           "(-100123..., 12345 or @channel)", (int)n, p);
        memcpy(cfg->chats[cfg->nchats].id, p, n);
        cfg->chats[cfg->nchats].id[n] = '\0';
        cfg->chats[cfg->nchats].thread_id = 0;
        if (colon != NULL) {
            n = (size_t)(end - colon - 1);
            if (n == 0 || n >= sizeof(thread))
                return bad(msg, msgsz, TR_CFG_TELEGRAM_CHAT_IDS,
                           "bad thread id after \":\"");
            memcpy(thread, colon + 1, n);
            thread[n] = '\0';
            if (tr_parse_id(thread, &cfg->chats[cfg->nchats].thread_id) != 0)
                return tr_fail(msg, msgsz, TR_ECONFIG,
                               "TELEGRAM_CHAT_IDS: thread \"%s\" is not a "
                               "positive integer", thread);
        }
        cfg->nchats++;
        p = end;
    }
    return TR_OK;
}

static enum tr_err
parse_num(struct tr_config *cfg, enum tr_config_key key, int64_t lo,
          int64_t hi, int64_t *out, char *msg, size_t msgsz)
{
    if (strcmp(cfg->raw[key], "0") == 0)
        *out = 0;   /* tr_parse_id takes ids, which start at 1 */
    else if (tr_parse_id(cfg->raw[key], out) != 0)
        *out = lo - 1;
    if (*out < lo || *out > hi)
        return tr_fail(msg, msgsz, TR_ECONFIG,
                       "%s: \"%.32s\" is not an integer from %lld to %lld",
                       keys[key].name, cfg->raw[key], (long long)lo,
                       (long long)hi);
    return TR_OK;
}

enum tr_err
tr_config_finish(struct tr_config *cfg, char *msg, size_t msgsz)
{
    enum tr_err err;
    int64_t n;
    size_t i;
    char *v;

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

    cfg->database_url = cfg->raw[TR_CFG_DATABASE_URL];

    if ((v = cfg->raw[TR_CFG_AMOCRM_DOMAIN]) != NULL) {
        for (i = 0; v[i] != '\0'; i++)
            if (!isalnum((unsigned char)v[i]) && v[i] != '-')
                return bad(msg, msgsz, TR_CFG_AMOCRM_DOMAIN,
                           "must be the account subdomain (letters, digits, "
                           "\"-\"), e.g. onaiagencykz");
        if (i > 63)
            return bad(msg, msgsz, TR_CFG_AMOCRM_DOMAIN, "longer than 63");
    }
    cfg->amocrm_domain = cfg->raw[TR_CFG_AMOCRM_DOMAIN];

    v = cfg->raw[TR_CFG_AMOCRM_ACCESS_TOKEN];
    if (v != NULL && !is_token(v))
        return bad(msg, msgsz, TR_CFG_AMOCRM_ACCESS_TOKEN,
                   "contains spaces or control characters");
    cfg->amocrm_access_token = v;

    if ((err = check_base_url(cfg, TR_CFG_AMOCRM_API_BASE,
                              &cfg->amocrm_api_base, msg, msgsz)) != TR_OK ||
        (err = check_base_url(cfg, TR_CFG_TELEGRAM_API_BASE,
                              &cfg->telegram_api_base, msg, msgsz)) != TR_OK)
        return err;

    if ((err = parse_num(cfg, TR_CFG_AMOCRM_PIPELINE_ID, 1, INT64_MAX,
                         &cfg->pipeline_id, msg, msgsz)) != TR_OK ||
        (err = parse_num(cfg, TR_CFG_AMOCRM_STATUS_ID, 1, INT64_MAX,
                         &cfg->status_id, msg, msgsz)) != TR_OK)
        return err;

    v = cfg->raw[TR_CFG_PRODUCT_NAME];
    if (strlen(v) > 200)
        return bad(msg, msgsz, TR_CFG_PRODUCT_NAME, "longer than 200 bytes");
    cfg->product_name = v;

    v = cfg->raw[TR_CFG_CURRENCY];
    if (strlen(v) != 3 || !isupper((unsigned char)v[0]) ||
        !isupper((unsigned char)v[1]) || !isupper((unsigned char)v[2]))
        return bad(msg, msgsz, TR_CFG_CURRENCY,
                   "must be an ISO 4217 code such as KZT");
    cfg->currency = v;

    if ((v = cfg->raw[TR_CFG_TELEGRAM_BOT_TOKEN]) != NULL) {
        const char *colon = strchr(v, ':');

        if (colon == NULL || colon == v || colon[1] == '\0' ||
            strspn(v, "0123456789") != (size_t)(colon - v) ||
            strspn(colon + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                              "TUVWXYZ0123456789_-") != strlen(colon + 1))
            return bad(msg, msgsz, TR_CFG_TELEGRAM_BOT_TOKEN,
                       "does not look like a bot token (123456:ABC-...)");
    }
    cfg->telegram_bot_token = v;

    if ((err = parse_chats(cfg, msg, msgsz)) != TR_OK)
        return err;

    for (i = TR_CFG_WEBHOOK_SECRET; i <= TR_CFG_ADMIN_TOKEN; i++) {
        v = cfg->raw[i];
        if (v == NULL)
            continue;
        if (!is_token(v) || strlen(v) < TR_SECRET_MIN)
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

    if ((err = parse_num(cfg, TR_CFG_DB_STATEMENT_TIMEOUT_MS, 100, 600000, &n,
                         msg, msgsz)) != TR_OK)
        return err;
    cfg->statement_timeout_ms = (long)n;

    {
        static const struct {
            enum tr_config_key key;
            int64_t lo, hi;
            size_t off;
        } nums[] = {
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
            {TR_CFG_AMOCRM_CONFIRM, 0, 1,
             offsetof(struct tr_config, amo_confirm)},
            {TR_CFG_AMOCRM_TIMEOUT_MS, 100, 60000,
             offsetof(struct tr_config, amo_timeout_ms)},
            {TR_CFG_AMOCRM_MAX_WAIT_S, 1, 86400,
             offsetof(struct tr_config, amo_max_wait_s)},
            {TR_CFG_AMOCRM_RATE, 1, 7,
             offsetof(struct tr_config, amo_rate)},
        };

        for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
            if ((err = parse_num(cfg, nums[i].key, nums[i].lo, nums[i].hi, &n,
                                 msg, msgsz)) != TR_OK)
                return err;
            *(long *)((char *)cfg + nums[i].off) = (long)n;
        }
    }

    tr_utm_map_release(&cfg->utm_map);
    if (cfg->raw[TR_CFG_UTM_FIELDS] != NULL) {
        char why[160];

        err = tr_utm_map_parse(&cfg->utm_map, cfg->raw[TR_CFG_UTM_FIELDS],
                               why, sizeof(why));
        if (err != TR_OK)
            return tr_fail(msg, msgsz, TR_ECONFIG, "UTM_FIELDS: %s", why);
    }
    return TR_OK;
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
        return tr_fail(msg, msgsz, TR_ECONFIG, "%s is not set",
                       keys[key].name);
    return TR_OK;
}

int
tr_config_secret_equal(const char *given, const char *secret)
{
    size_t n = strlen(secret), g = strlen(given), i;
    unsigned char d = g != n;

    /* every byte of the secret is looked at, whatever matched before */
    for (i = 0; i < n; i++)
        d |= (unsigned char)((i < g ? given[i] : 0) ^ secret[i]);
    return d == 0;
}

int
tr_config_amocrm_base(const struct tr_config *cfg, char *buf, size_t bufsz)
{
    buf[0] = '\0';
    if (cfg->amocrm_access_token == NULL)
        return 0;
    if (cfg->amocrm_api_base != NULL)
        snprintf(buf, bufsz, "%s", cfg->amocrm_api_base);
    else if (cfg->amocrm_domain != NULL)
        snprintf(buf, bufsz, "https://%s.amocrm.ru", cfg->amocrm_domain);
    return buf[0] != '\0';
}

int
tr_config_account_base(const struct tr_config *cfg, const char *self,
                       char *buf, size_t bufsz)
{
    static const char *const hosts[] = {".amocrm.ru", ".amocrm.com",
                                        ".kommo.com"};
    const char *host, *end;
    size_t d, n, i;

    buf[0] = '\0';
    if (cfg->amocrm_domain == NULL || self == NULL ||
        strncmp(self, "https://", 8) != 0)
        return 0;
    host = self + 8;
    end = host + strcspn(host, "/");
    if (*end != '\0' && strcmp(end, "/") != 0)
        return 0;
    d = strlen(cfg->amocrm_domain);
    n = (size_t)(end - host);
    if (n <= d || strncasecmp(host, cfg->amocrm_domain, d) != 0)
        return 0;
    for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        if (n - d == strlen(hosts[i]) &&
            strncasecmp(host + d, hosts[i], n - d) == 0) {
            snprintf(buf, bufsz, "https://%.*s", (int)n, host);
            return 1;
        }
    }
    return 0;
}

/* Appends n bytes of s to buf (size bufsz) at *o, always NUL-terminated. */
static void
put(char *buf, size_t bufsz, size_t *o, const char *s, size_t n)
{
    while (n-- > 0 && *o + 1 < bufsz)
        buf[(*o)++] = *s++;
    buf[*o] = '\0';
}

void
tr_config_mask_url(const char *url, char *buf, size_t bufsz)
{
    const char *p, *auth_end, *at = NULL, *colon;
    size_t o = 0;
    int uri;

    if (bufsz == 0)
        return;
    buf[0] = '\0';
    if (url == NULL) {
        put(buf, bufsz, &o, "(not set)", 9);
        return;
    }
    p = url;
    uri = strstr(url, "://") != NULL;
    if (uri) {
        /* postgresql://user:password@host/db */
        p = strstr(url, "://") + 3;
        auth_end = p + strcspn(p, "/?");
        for (colon = p; colon < auth_end; colon++)
            if (*colon == '@')
                at = colon;
        colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
        if (colon != NULL) {
            put(buf, bufsz, &o, url, (size_t)(colon + 1 - url));
            put(buf, bufsz, &o, "***", 3);
            p = at;
        } else {
            put(buf, bufsz, &o, url, (size_t)(p - url));
        }
    }
    /* "password=..." in the query string or a conninfo string */
    while (*p != '\0') {
        int start = p == url || strchr(uri ? "?&" : " \t", p[-1]) != NULL;

        if (start && strncmp(p, "password", 8) == 0) {
            const char *v = p + 8;

            while (*v == ' ')
                v++;
            if (*v == '=') {
                v++;
                while (!uri && *v == ' ')
                    v++;
                put(buf, bufsz, &o, "password=***", 12);
                if (!uri && *v == '\'') {
                    for (v++; *v != '\0' && *v != '\''; v++)
                        if (*v == '\\' && v[1] != '\0')
                            v++;
                    if (*v == '\'')
                        v++;
                } else {
                    v += strcspn(v, uri ? "&" : " \t");
                }
                p = v;
                continue;
            }
        }
        put(buf, bufsz, &o, p, 1);
        p++;
    }
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
            tr_config_mask_url(v, masked, sizeof(masked));
            err = tr_buf_addf(out, "%s=%s\n", keys[i].name, masked);
        } else
            err = tr_buf_addf(out, "%s=%s\n", keys[i].name, v);
    }
    return err;
}
