/*
 * test-config: the env file and environment, defaults, validation naming
 * the key, and secrets masked everywhere they are printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libtraffic/base/amobase.h"
#include "libtraffic/base/buf.h"
#include "libtraffic/base/config.h"
#include "libtraffic/base/secret.h"
#include "tap.h"

static char dir[] = "/tmp/test-config-XXXXXX";

static const char *
write_file(const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static enum tr_err
load_text(struct tr_config *cfg, const char *text, char *msg, size_t msgsz)
{
    const char *path = write_file("t.env", text);
    enum tr_err err;

    tr_config_init(cfg);
    err = tr_config_load_file(cfg, path, 1, msg, msgsz);
    if (err == TR_OK)
        err = tr_config_finish(cfg, msg, msgsz);
    return err;
}

int
main(void)
{
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"AMOCRM_PIPELINE_ID=abc\n", "AMOCRM_PIPELINE_ID: \"abc\" is not"},
        {"AMOCRM_STATUS_ID=-1\n", "AMOCRM_STATUS_ID:"},
        {"TELEGRAM_CHAT_IDS=-100123,abc\n", "TELEGRAM_CHAT_IDS: \"abc\""},
        {"TELEGRAM_CHAT_IDS=-100123:x\n", "TELEGRAM_CHAT_IDS: thread \"x\""},
        {"TELEGRAM_BOT_TOKEN=nocolon\n", "TELEGRAM_BOT_TOKEN:"},
        {"TELEGRAM_API_BASE=ftp://x\n", "TELEGRAM_API_BASE:"},
        {"AMOCRM_API_BASE=https://x/?a=b\n", "AMOCRM_API_BASE:"},
        {"WEBHOOK_SECRET=short\n", "WEBHOOK_SECRET: must be at least 16"},
        {"ADMIN_TOKEN=has space in it 0123456789\n", "ADMIN_TOKEN:"},
        {"SPOOL_DIR=relative/dir\n", "SPOOL_DIR: must be an absolute"},
        {"MAX_BODY_BYTES=10\n", "MAX_BODY_BYTES:"},
        {"TELEGRAM_TIMEOUT_MS=5\n", "TELEGRAM_TIMEOUT_MS: \"5\" is not an "
                                    "integer from 100"},
        {"TELEGRAM_MAX_ATTEMPTS=0\n", "TELEGRAM_MAX_ATTEMPTS:"},
        {"TELEGRAM_GROUP_PER_MINUTE=-1\n", "TELEGRAM_GROUP_PER_MINUTE:"},
        {"CURRENCY=tenge\n", "CURRENCY:"},
        {"AMOCRM_DOMAIN=evil.com/x\n", "AMOCRM_DOMAIN:"},
        {"UTM_FIELDS=campaign=1\n", "UTM_FIELDS:"},
        {"DATABASE_URL\n", "t.env:1: expected KEY=VALUE"},
        {"# ok\nPRODUCT_NAME=\xc0\xaf\n", "PRODUCT_NAME: value is not valid"},
        /* each shape each check refuses, one at a time */
        {"ADMIN_TOKEN=0123456789abcdef\xc3\xa9\n", "ADMIN_TOKEN:"},
        {"TELEGRAM_API_BASE=https://x/#frag\n", "TELEGRAM_API_BASE:"},
        {"TELEGRAM_API_BASE=https://x y\n", "TELEGRAM_API_BASE:"},
        {"TELEGRAM_MAX_ATTEMPTS=100000000\n", "TELEGRAM_MAX_ATTEMPTS:"},
        {"TELEGRAM_BOT_TOKEN=:abc\n", "TELEGRAM_BOT_TOKEN:"},
        {"TELEGRAM_BOT_TOKEN=123:\n", "TELEGRAM_BOT_TOKEN:"},
        {"TELEGRAM_BOT_TOKEN=12a:abc\n", "TELEGRAM_BOT_TOKEN:"},
        {"TELEGRAM_BOT_TOKEN=123:ab.c\n", "TELEGRAM_BOT_TOKEN:"},
        {"AMOCRM_DOMAIN=a_b\n", "AMOCRM_DOMAIN:"},
        {"AMOCRM_DOMAIN="
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaa\n",
         "AMOCRM_DOMAIN:"},
        {"CURRENCY=KZ\n", "CURRENCY: must be an ISO 4217"},
        {"CURRENCY=KzT\n", "CURRENCY: must be an ISO 4217"},
        {"CURRENCY=KZt\n", "CURRENCY: must be an ISO 4217"},
        {"RECONCILE_WINDOW=30s\n", "RECONCILE_WINDOW: must be an age"},
        {"WEBHOOK_PUBLIC_URL=ftp://x/y\n", "WEBHOOK_PUBLIC_URL: must be the"},
        {"WEBHOOK_PUBLIC_URL=https://x/a b\n", "WEBHOOK_PUBLIC_URL:"},
        {"DIGEST_TZ=Asia/../etc\n", "DIGEST_TZ: must be a time zone"},
        {"DIGEST_TZ=/etc/passwd\n", "DIGEST_TZ: must be a time zone"},
        {"DIGEST_TZ=Asia/Alma ty\n", "DIGEST_TZ: must be a time zone"},
        {"DIGEST_TZ=Asia/Nowhere\n", "DIGEST_TZ: no such time zone"},
        {"DIGEST_AT=9:00\n", "DIGEST_AT: must be a time HH:MM"},
        {"DIGEST_AT=21-00\n", "DIGEST_AT: must be a time HH:MM"},
        {"DIGEST_AT=24:00\n", "DIGEST_AT: must be a time HH:MM"},
        {"DIGEST_AT=21:60\n", "DIGEST_AT: must be a time HH:MM"},
        {"METRICS_FILE=relative\n", "METRICS_FILE: must be an absolute"},
        {"FACEBOOK_ADS_TOKEN=has space\n", "FACEBOOK_ADS_TOKEN:"},
        {"FACEBOOK_API_BASE=graph.facebook.com\n", "FACEBOOK_API_BASE:"},
        {"RATES_API_BASE=https://x/?q=1\n", "RATES_API_BASE:"},
    };
    struct tr_config cfg;
    struct tr_buf b;
    char msg[512], masked[256];
    size_t i;

    if (mkdtemp(dir) == NULL)
        return 1;
    msg[0] = '\0';

    ok(load_text(&cfg,
                 "# the seed's env.env\n"
                 "export DATABASE_URL=\"postgresql://u:s3cret@db/x\"\n"
                 "AMOCRM_DOMAIN = onaiagencykz\n"
                 "FACEBOOK_ADS_TOKEN=ignored-unknown-key\n"
                 "TRIPWIRE_SUPABASE_URL=https://x.supabase.co\n"
                 "TELEGRAM_BOT_TOKEN='123456:ABC-def_1'\n"
                 "TELEGRAM_CHAT_IDS=-1001234567890, 42:7,@sales_team\n"
                 "\n",
                 msg, sizeof(msg)) == TR_OK,
       "the seed-style file loads: %s", msg);
    is_str(cfg.database_url, "postgresql://u:s3cret@db/x",
           "quotes and export stripped");
    is_str(cfg.amocrm_domain, "onaiagencykz", "spaces around = trimmed");
    ok(cfg.pipeline_id == 10418746 && cfg.status_id == 142,
       "pipeline and status default to the seed's");
    is_str(cfg.product_name, "Main Product (VAMUS RM)", "product default");
    is_str(cfg.currency, "KZT", "currency default");
    is_str(cfg.telegram_api_base, "https://api.telegram.org",
           "Telegram base default");
    ok(cfg.max_body_bytes == 1048576, "body limit default 1 MiB");
    ok(cfg.tg_timeout_ms == 10000 && cfg.tg_chat_interval_ms == 1000 &&
           cfg.tg_group_per_minute == 20 && cfg.tg_max_attempts == 50 &&
           cfg.tg_max_age_s == 86400 && cfg.tg_retry_base_ms == 5000,
       "Telegram delivery defaults");
    ok(cfg.nchats == 3 && strcmp(cfg.chats[0].id, "-1001234567890") == 0 &&
           cfg.chats[1].thread_id == 7 &&
           strcmp(cfg.chats[2].id, "@sales_team") == 0,
       "three chats, one a forum topic");

    tr_config_release(&cfg);
    ok(load_text(&cfg,
                 "TELEGRAM_CHAT_INTERVAL_MS=0\n"
                 "TELEGRAM_GROUP_PER_MINUTE=0\n",
                 msg, sizeof(msg)) == TR_OK &&
           cfg.tg_chat_interval_ms == 0 && cfg.tg_group_per_minute == 0,
       "pacing can be turned off with 0: %s", msg);
    {
        static const struct {
            const char *self, *want;
        } links[] = {
            {"https://onaiagencykz.amocrm.ru",
             "https://onaiagencykz.amocrm.ru"},
            {"https://onaiagencykz.amocrm.ru/",
             "https://onaiagencykz.amocrm.ru"},
            {"https://OnaiAgencyKZ.kommo.com",
             "https://OnaiAgencyKZ.kommo.com"},
            {"https://onaiagencykz.amocrm.com",
             "https://onaiagencykz.amocrm.com"},
            {"http://onaiagencykz.amocrm.ru", ""},
            {"https://evil.example", ""},
            {"https://onaiagencykz.amocrm.ru.evil.example", ""},
            {"https://xonaiagencykz.amocrm.ru", ""},
            {"https://onaiagencykzx.amocrm.ru", ""},
            {"https://onaiagencykz.amocrm.ru:8443", ""},
            {"https://onaiagencykz.amocrm.ru/x?y", ""},
        };
        char base[300];
        size_t k;

        tr_config_release(&cfg);
        load_text(&cfg, "AMOCRM_DOMAIN=onaiagencykz\n", msg, sizeof(msg));
        for (k = 0; k < sizeof(links) / sizeof(links[0]); k++) {
            int r =
                tr_amobase_of_account(&cfg, links[k].self, base, sizeof(base));

            ok(r == (links[k].want[0] != '\0') &&
                   strcmp(base, links[k].want) == 0,
               "account[_links][self] %s: \"%s\"", links[k].self, base);
        }
        tr_config_release(&cfg);
        load_text(&cfg, "# no domain\n", msg, sizeof(msg));
        ok(!tr_amobase_of_account(&cfg, links[0].self, base, sizeof(base)),
           "without AMOCRM_DOMAIN no link is trusted");
    }
    tr_config_release(&cfg);
    load_text(&cfg,
              "DATABASE_URL=postgresql://u:s3cret@db/x\n"
              "TELEGRAM_BOT_TOKEN='123456:ABC-def_1'\n",
              msg, sizeof(msg));
    tr_buf_init(&b, 64 * 1024);
    tr_config_dump(&cfg, &b);
    ok(strstr(b.data, "s3cret") == NULL && strstr(b.data, "ABC-def") == NULL,
       "the dump shows no secret");
    ok(strstr(b.data, "DATABASE_URL=postgresql://u:***@db/x\n") != NULL,
       "the URL's password is masked");
    ok(strstr(b.data, "TELEGRAM_BOT_TOKEN=******** (set)\n") != NULL,
       "the bot token is masked");
    tr_buf_release(&b);
    tr_config_release(&cfg);

    /* the environment overrides the file */
    setenv("AMOCRM_STATUS_ID", "143", 1);
    tr_config_init(&cfg);
    tr_config_load_file(&cfg, write_file("e.env", "AMOCRM_STATUS_ID=142\n"), 1,
                        msg, sizeof(msg));
    tr_config_load_env(&cfg, msg, sizeof(msg));
    ok(tr_config_finish(&cfg, msg, sizeof(msg)) == TR_OK &&
           cfg.status_id == 143,
       "environment wins over the file");
    tr_config_release(&cfg);
    unsetenv("AMOCRM_STATUS_ID");

    /* a missing default file is fine, a named one is not */
    tr_config_init(&cfg);
    ok(tr_config_load_file(&cfg, "/nonexistent/x.env", 0, msg, sizeof(msg)) ==
           TR_OK,
       "missing optional file: no error");
    ok(tr_config_load_file(&cfg, "/nonexistent/x.env", 1, msg, sizeof(msg)) ==
               TR_ECONFIG &&
           strstr(msg, "/nonexistent/x.env"),
       "missing named file: %s", msg);
    setenv("TRAFFIC_ENV_FILE", "/nonexistent/named.env", 1);
    ok(tr_config_load(&cfg, msg, sizeof(msg)) == TR_ECONFIG,
       "TRAFFIC_ENV_FILE naming a missing file fails");
    unsetenv("TRAFFIC_ENV_FILE");
    tr_config_release(&cfg);
    tr_config_init(&cfg);
    ok(tr_config_finish(&cfg, msg, sizeof(msg)) == TR_OK &&
           tr_config_require(&cfg, TR_CFG_DATABASE_URL, msg, sizeof(msg)) ==
               TR_ECONFIG &&
           strcmp(msg, "DATABASE_URL is not set") == 0,
       "environment alone is enough; a missing URL is named");
    tr_config_release(&cfg);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msg[0] = '\0';
        ok(load_text(&cfg, bad[i].text, msg, sizeof(msg)) == TR_ECONFIG &&
               strstr(msg, bad[i].err) != NULL,
           "one clear line: %s", msg);
        ok(strchr(msg, '\n') == NULL, "  (a single line)");
        tr_config_release(&cfg);
    }
    ok(load_text(&cfg, "WEBHOOK_SECRET=shortsecret1\n", msg, sizeof(msg)) ==
               TR_ECONFIG &&
           strstr(msg, "shortsecret1") == NULL,
       "a rejected secret is not echoed");
    tr_config_release(&cfg);

    tr_secret_mask_url("postgresql://user:pa%40ss@host:5432/db?sslmode=require",
                       masked, sizeof(masked));
    is_str(masked, "postgresql://user:***@host:5432/db?sslmode=require",
           "URI password masked");
    tr_secret_mask_url("postgres:///db?host=/tmp&password=xyz&user=u", masked,
                       sizeof(masked));
    is_str(masked, "postgres:///db?host=/tmp&password=***&user=u",
           "query password masked");
    tr_secret_mask_url("host=/tmp dbname=x password='a b\\'c' user=u", masked,
                       sizeof(masked));
    is_str(masked, "host=/tmp dbname=x password=*** user=u",
           "conninfo password masked, quoted");
    tr_secret_mask_url("host=db password = s3 user=u", masked, sizeof(masked));
    is_str(masked, "host=db password=*** user=u", "spaced password masked");
    tr_secret_mask_url("postgresql://user@host/db", masked, sizeof(masked));
    is_str(masked, "postgresql://user@host/db", "no password, unchanged");
    tr_secret_mask_url("postgresql:///db?password=xyz&host=/tmp", masked,
                       sizeof(masked));
    is_str(masked, "postgresql:///db?password=***&host=/tmp",
           "a password as the first parameter masked");
    tr_secret_mask_url("password=xyz host=/tmp", masked, sizeof(masked));
    is_str(masked, "password=*** host=/tmp", "a conninfo starting with it");

    unlink(write_file("t.env", ""));
    unlink(write_file("e.env", ""));
    rmdir(dir);
    return done_testing();
}
