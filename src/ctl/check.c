/*
 * check.c: traffic-ctl check: the configuration with secrets masked, then
 * a "problem:" line per thing to fix (every configuration problem, the
 * spool not writable by the service user, database, migrations, fsync,
 * Telegram token and chats, AmoCRM token, failed messages, a world-readable
 * env file, a network that does not answer); exit 78 for the configuration,
 * 1 for the rest.  --config-only: no database, no network.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/rows.h"
#include "libtraffic/base/amobase.h"
#include "ctl/ctl.h"
#include "libtraffic/observe/alerts.h"
#include "libtraffic/outgoing/ads.h"
#include "libtraffic/outgoing/amocrm.h"
#include "libtraffic/base/buf.h"
#include "libtraffic/base/dir.h"
#include "libtraffic/db/migrate.h"
#include "libtraffic/outgoing/outbox.h"
#include "libtraffic/outgoing/reconcile.h"
#include "libtraffic/base/privs.h"
#include "libtraffic/intake/sale.h"
#include "libtraffic/intake/schema.h"
#include "libtraffic/intake/spool.h"
#include "libtraffic/sql.h"
#include "libtraffic/db/store.h"
#include "libtraffic/outgoing/telegram.h"

/* Telegram's part: the token (getMe), then every chat (getChat). */
static int
check_telegram(const struct tr_config *cfg)
{
    struct tr_telegram tg;
    struct tr_tg_result r;
    int problems = 0;
    size_t i;

    if (cfg->telegram_bot_token == NULL || cfg->nchats == 0) {
        printf("note: TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_IDS not set: "
               "no messages will be sent\n");
        return 0;
    }
    if (tr_telegram_init(&tg, cfg->telegram_api_base, cfg->telegram_bot_token,
                         cfg->tg_timeout_ms) != TR_OK) {
        printf("problem: out of memory\n");
        return 1;
    }
    if (tr_telegram_check(&tg, NULL, &r) == TR_OK && r.outcome == TR_TG_RETRY) {
        /* no answer, or a 5xx / 429: nothing said about the token */
        printf("problem: Telegram cannot be reached at %s (%s): check the "
               "network, a firewall or proxy, TELEGRAM_API_BASE\n",
               cfg->telegram_api_base, r.description);
        tr_telegram_release(&tg);
        return 1;
    }
    if (r.outcome != TR_TG_SENT) {
        printf("problem: Telegram refuses TELEGRAM_BOT_TOKEN (%s): take the "
               "token from @BotFather again\n",
               r.description);
        tr_telegram_release(&tg);
        return 1;
    }
    printf("telegram: the bot token is accepted\n");
    for (i = 0; i < cfg->nchats + cfg->nalert_chats; i++) {
        const char *id = i < cfg->nchats ? cfg->chats[i].id
                                         : cfg->alert_chats[i - cfg->nchats].id;
        const char *key =
            i < cfg->nchats ? "TELEGRAM_CHAT_IDS" : "ALERT_CHAT_IDS";

        if (tr_telegram_check(&tg, id, &r) == TR_OK &&
            r.outcome == TR_TG_SENT) {
            printf("telegram: chat %s reachable\n", id);
            continue;
        }
        printf("problem: Telegram chat %s: %s: add the bot to the chat, or "
               "fix %s%s%s%s\n",
               id, r.description, key, r.migrate_to[0] ? " (it moved to " : "",
               r.migrate_to, r.migrate_to[0] ? ")" : "");
        problems++;
    }
    tr_telegram_release(&tg);
    return problems;
}

/* AmoCRM's webhook: one subscription posts here and is enabled. */
static int
check_hook(struct ctl *c)
{
    struct tr_reconcile_stats st;
    struct tr_reconcile r;
    char msg[512];
    int problems = 0;

    if (tr_reconcile_init(&r, &c->cfg, &c->rules, c->store, NULL) != TR_OK) {
        printf("problem: out of memory\n");
        return 1;
    }
    if (tr_reconcile_hook(&r, &st, msg, sizeof(msg)) != TR_OK) {
        printf("note: AmoCRM's webhooks could not be listed (%s)\n", msg);
    } else if (st.hook.problem[0] != '\0') {
        printf("problem: %s\n", st.hook.problem);
        problems = 1;
    } else {
        printf("amocrm: a webhook posts here and is enabled\n");
    }
    tr_reconcile_release(&r);
    return problems;
}

/* The AmoCRM API's part: the number of problems found. */
static int
check_amocrm(struct ctl *c)
{
    const struct tr_config *cfg = &c->cfg;

    struct tr_amocrm a;
    char base[512], why[512];
    enum tr_amo_status st;

    if (!tr_amobase_configured(cfg, base, sizeof(base))) {
        if (cfg->amocrm_access_token != NULL) {
            printf("problem: AMOCRM_ACCESS_TOKEN is set but neither "
                   "AMOCRM_DOMAIN nor AMOCRM_API_BASE: set the account\n");
            return 1;
        }
        printf("note: AMOCRM_ACCESS_TOKEN not set: sales are not completed "
               "or confirmed through the API\n");
        return 0;
    }
    if (tr_amocrm_init(&a, base, cfg->amocrm_access_token, cfg->amo_timeout_ms,
                       NULL) != TR_OK) {
        printf("problem: out of memory\n");
        return 1;
    }
    st = tr_amocrm_check(&a, why, sizeof(why));
    tr_amocrm_release(&a);
    switch (st) {
    case TR_AMO_OK:
        printf("amocrm: %s accepts the token\n", base);
        return check_hook(c);
    case TR_AMO_DENIED:
        printf("problem: %s refuses AMOCRM_ACCESS_TOKEN (%s): issue a new "
               "long-lived token in the integration's settings\n",
               base, why);
        return 1;
    default:
        printf("problem: %s cannot be asked (%s): check AMOCRM_DOMAIN or "
               "AMOCRM_API_BASE and the network\n",
               base, why);
        return 1;
    }
}

/* The failed messages of the outbox: the number of problems. */
static int
check_outbox(struct tr_store *store)
{
    char msg[512];
    long waiting, failed;

    if (tr_outbox_counts(store, &waiting, &failed, msg, sizeof(msg)) != TR_OK)
        return 0;
    printf("notifications: %ld pending, %ld failed\n", waiting, failed);
    if (failed == 0)
        return 0;
    printf("problem: %ld Telegram message%s failed for good: see last_error "
           "in notification_outbox\n",
           failed, failed == 1 ? "" : "s");
    return 1;
}

/*
 * What a sale's 200 relies on: its commit on disk.  fsync off is the
 * server's alone (a problem); synchronous_commit off the service's sessions
 * raise to local themselves (tr_store_commit_raised).  The number of
 * problems.
 */
static int
check_durability(struct tr_store *store)
{
    char msg[512];
    struct tr_rows *res = tr_store_query(store, tr_sql_check_durability, 0,
                                         NULL, msg, sizeof(msg));
    int problems = 0;

    if (res == NULL || tr_rows_count(res) != 1) {
        printf("problem: the database's fsync and synchronous_commit cannot "
               "be read (%s)\n",
               res == NULL ? msg : "no row");
        tr_rows_free(res);
        return 1;
    }
    if (strcmp(tr_rows_text(res, 0, "fsync"), "on") != 0) {
        printf("problem: PostgreSQL runs with fsync off: a crash of its "
               "machine can lose sales already answered 200, and the "
               "database with them: set fsync = on\n");
        problems++;
    }
    if (tr_store_commit_raised(store))
        printf("note: synchronous_commit is off for this database or role; "
               "the service's sessions commit with %s, so a sale answered "
               "200 is on disk\n",
               tr_rows_text(res, 0, "synchronous_commit"));
    else if (problems == 0)
        printf("database: a sale's commit is on disk before its 200 "
               "(synchronous_commit %s)\n",
               tr_rows_text(res, 0, "synchronous_commit"));
    tr_rows_free(res);
    return problems;
}

/*
 * Whether the database takes a sale from this role (schema.h): every
 * statement parsed, a sale written, read back and rolled back.  A problem
 * line for each refusal.
 */
static int
check_refusal(struct ctl *c)
{
    char found[4096], msg[512];
    struct tr_sale sale;
    int n, problems = 0;
    char *line, *save = NULL;

    tr_sale_init(&sale, &c->cfg, c->store);
    if ((n = tr_schema_probe(&sale, found, sizeof(found), msg, sizeof(msg))) <
        0) {
        printf("problem: %s\n", msg);
        return 1;
    }
    for (line = strtok_r(found, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), problems++)
        printf("problem: the database refuses sales: %s\n", line);
    if (n == 0)
        printf("database: this role writes and reads a sale (tried, rolled "
               "back)\n");
    else
        printf("note: sales are spooled meanwhile and stored once this is "
               "fixed (traffic-ctl spool drain)\n");
    return problems;
}

/* The database, its schema and its outbox: the number of problems. */
static int
check_database(struct ctl *c, const char *sqldir)
{
    char msg[512];
    int pending;

    if (c->cfg.database_url == NULL) {
        printf("problem: DATABASE_URL is not set: add it to the env file\n");
        return 1;
    }
    if (tr_store_connect(c->store, msg, sizeof(msg)) != TR_OK) {
        printf("problem: %s: check DATABASE_URL and that PostgreSQL runs\n",
               msg);
        return 1;
    }
    if (tr_migrate_pending(c->store, sqldir, &pending, msg, sizeof(msg)) !=
        TR_OK) {
        printf("problem: %s\n", msg);
        return 1;
    }
    if (pending > 0) {
        printf("problem: %d migration%s not applied: run traffic-ctl "
               "migrate\n",
               pending, pending == 1 ? "" : "s");
        return 1;
    }
    printf("database: reachable, schema up to date\n");
    return check_refusal(c) + check_durability(c->store) +
           check_outbox(c->store);
}

/*
 * Whether the service user can write a request into the spool: a file
 * created and removed (check runs as that user: main.c).  0, or 1 said.
 */
static int
spool_writable(const struct tr_config *cfg)
{
    const char *user = tr_privs_service_user();
    struct passwd *pw = getpwuid(geteuid());
    char msg[512] = "";

    if (tr_spool_probe(cfg->spool_dir, msg, sizeof(msg)) == TR_OK)
        return 0;
    printf("problem: SPOOL_DIR %s cannot take a request as %s (%s): the next "
           "database outage would answer 503; make it: install -d -o %s -g "
           "%s -m 0750 %s\n",
           cfg->spool_dir, pw ? pw->pw_name : "this user",
           msg[0] ? msg : "the user cannot be taken", user, user,
           cfg->spool_dir);
    return 1;
}

/*
 * What the service user cannot use though the service made it: spooled
 * requests it cannot read (another user's: a replay as root) and a
 * metrics file it cannot write (the workers then count nothing).  The
 * number of problems said.
 */
static int
check_owners(const struct tr_config *cfg)
{
    struct passwd *pw = getpwuid(geteuid());
    const char *me = pw ? pw->pw_name : "this user";
    struct tr_dir_list list;
    char path[4352], msg[256];
    size_t i, n = 0;
    int problems = 0;

    if (tr_spool_list(cfg->spool_dir, &list, msg, sizeof(msg)) == TR_OK) {
        for (i = 0; i < list.n; i++) {
            snprintf(path, sizeof(path), "%s/%s", cfg->spool_dir,
                     list.names[i]);
            n += access(path, R_OK) != 0;
        }
    }
    tr_dir_list_release(&list);
    if (n > 0) {
        printf("problem: %zu spooled request%s in %s cannot be read as %s "
               "(another user's: a replay as root?), so they would be set "
               "aside unstored: chown %s:%s them\n",
               n, n == 1 ? "" : "s", cfg->spool_dir, me, me, me);
        problems++;
    }
    if (access(cfg->metrics_file, F_OK) == 0 &&
        access(cfg->metrics_file, R_OK | W_OK) != 0) {
        printf("problem: METRICS_FILE %s cannot be written as %s: the "
               "workers count nothing; chown %s:%s it, or remove it\n",
               cfg->metrics_file, me, me, me);
        problems++;
    }
    return problems;
}

static int
check_spool(const struct tr_config *cfg)
{
    long depth;

    if (spool_writable(cfg) != 0)
        return 1;
    if (check_owners(cfg) != 0)
        return 1;
    if ((depth = tr_spool_depth(cfg->spool_dir)) < 0) {
        printf("problem: SPOOL_DIR %s cannot be read: create it, owned by "
               "the service user\n",
               cfg->spool_dir);
        return 1;
    }
    printf("spool: %ld request%s waiting%s\n", depth, depth == 1 ? "" : "s",
           depth > 0 ? " (traffic-ctl spool drain)" : "");
    if (depth > 0) {
        char why[512];

        tr_spool_last_failure(cfg->spool_dir, why, sizeof(why));
        printf("spool: the oldest waits %ld s%s%s\n",
               tr_spool_oldest_age(cfg->spool_dir),
               why[0] ? "; its last replay failed: " : "", why);
    }
    if ((depth = tr_spool_corrupt(cfg->spool_dir)) > 0) {
        /* answered "queued" and never stored: an operator's to look at */
        printf("problem: %ld spooled request%s set aside in "
               "%s/" TR_SPOOL_CORRUPT_DIR
               ", never stored: each NAME.why says why\n",
               depth, depth == 1 ? "" : "s", cfg->spool_dir);
        return 1;
    }
    return 0;
}

/* What the sidecar's alerts would say that the lines above do not: the
 * spool stuck, a silence, reconciliation failing or held back, the ad
 * spend sync failing (an expired Facebook token). */
static int
check_alerts(struct ctl *c)
{
    static const enum tr_alert more[] = {TR_ALERT_SPOOL, TR_ALERT_SILENCE,
                                         TR_ALERT_RECONCILE, TR_ALERT_ADS};
    struct tr_alert_found found[TR_ALERT_N];
    struct tr_alerts a;
    char msg[512];
    int problems = 0;
    size_t i;

    if (c->cfg.database_url == NULL ||
        tr_alerts_init(&a, &c->cfg, c->store, NULL) != TR_OK)
        return 0;
    /* the APIs were asked above: only what the database and spool say
       (the spool's part the database away too, said above) */
    (void)tr_alerts_detect(&a, 0, found, msg, sizeof(msg));
    for (i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
        if (found[more[i]].active) {
            printf("problem: %s\n", found[more[i]].en);
            problems++;
        }
    }
    tr_alerts_release(&a);
    return problems;
}

/* FACEBOOK_AD_ACCOUNTS, with FACEBOOK_ADS_TOKEN: the sync would refuse it
 * at its next run, hours later. */
static int
check_ads(const struct tr_config *cfg)
{
    struct tr_ad_account acc[TR_ADS_ACCOUNTS_MAX];
    char msg[256];
    size_t n;

    if (cfg->fb_token == NULL)
        return 0;
    if (tr_ads_accounts(cfg->fb_accounts, acc, TR_ADS_ACCOUNTS_MAX, &n, msg,
                        sizeof(msg)) != TR_OK) {
        printf("problem: %s\n", msg);
        return 1;
    }
    if (n > 0)
        return 0;
    printf("problem: FACEBOOK_ADS_TOKEN is set and FACEBOOK_AD_ACCOUNTS names "
           "no ad account: add them (act_ID or act_ID:Targetologist)\n");
    return 1;
}

/* The configuration itself, and its file's mode. */
static int
check_config(const struct ctl *c)
{
    const struct tr_config *cfg = &c->cfg;
    struct tr_buf out;
    struct stat sb;

    tr_buf_init(&out, 64 * 1024);
    tr_config_dump(cfg, &out);
    printf("env file: %s\n%s",
           cfg->env_file[0] ? cfg->env_file : "(none, environment only)",
           out.data ? out.data : "");
    tr_buf_release(&out);
    printf("rules: %zu targetologists, fallback %s\n", c->rules.n,
           c->rules.fallback.name);
    if (cfg->env_file[0] != '\0' && stat(cfg->env_file, &sb) == 0 &&
        (sb.st_mode & S_IROTH)) {
        printf("problem: %s is readable by every user and holds secrets: "
               "chmod 640 it (group of the service user)\n",
               cfg->env_file);
        return 1;
    }
    return 0;
}

int
ctl_check(struct ctl *c)
{
    int problems;

    if (c->problems > 0) {
        /* said by the setup, each one: nothing else can be checked */
        printf("check failed: %d configuration problem%s\n", c->problems,
               c->problems == 1 ? "" : "s");
        return EX_CONFIG;
    }
    problems = check_config(c);
    problems += check_ads(&c->cfg);
    problems += check_spool(&c->cfg);
    if (c->opt[1] == NULL) { /* not --config-only */
        problems += check_database(c, ctl_sql_dir(c->opt[0]));
        problems += check_amocrm(c);
        problems += check_telegram(&c->cfg);
        problems += check_alerts(c);
    }
    printf("%s\n", problems ? "check failed" : "check passed");
    return problems ? 1 : 0;
}
