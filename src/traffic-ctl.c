/*
 * traffic-ctl: the operator's tool.
 *
 * A thin main() over libtraffic: each subcommand loads the configuration the
 * service uses (TRAFFIC_ENV_FILE and the environment) and runs one core
 * function.  Exit codes: 0 done, 1 something is wrong (said on stderr), 2 bad
 * usage, 78 bad configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "libtraffic/amocrm.h"
#include "libtraffic/buf.h"
#include "libtraffic/config.h"
#include "libtraffic/enrich.h"
#include "libtraffic/handler.h"
#include "libtraffic/leads.h"
#include "libtraffic/notify.h"
#include "libtraffic/rules.h"
#include "libtraffic/spool.h"
#include "libtraffic/store.h"
#include "libtraffic/telegram.h"

#define EX_CONFIG 78

#ifndef TR_SQL_DIR
#define TR_SQL_DIR "/usr/share/traffic-webhook/sql"
#endif

struct ctl {
    struct tr_config cfg;
    struct tr_rules rules;
    struct tr_store store;
    int have_rules;
};

static const char usage_text[] =
    "usage: traffic-ctl COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  check                      the configuration (secrets masked), the\n"
    "                             database and schema, Telegram, AmoCRM, the\n"
    "                             spool and failed messages\n"
    "  migrate [--sql-dir DIR]    apply the pending sql/ migrations\n"
    "  logs [--limit N] [--status S] [--lead ID] [--source S]\n"
    "                             show webhook_logs, newest first\n"
    "  purge-lead ID              delete a (test) lead from every table\n"
    "  replay [--dry-run] [--unified] FILE...\n"
    "                             process saved bodies as the webhook does\n"
    "  deliver [--loop] [--now]   replay the spool, send the due Telegram\n"
    "                             messages (--loop: keep running, the sidecar)\n"
    "  spool [status|drain]       requests spooled while the database was away\n"
    "  message LEAD_ID            print the Telegram message of a stored sale\n"
    "  resend LEAD_ID             send a stored sale's message again\n"
    "  prune --older-than AGE     delete webhook_logs older than AGE (30d, 12h)\n"
    "  version                    print the version\n"
    "\n"
    "Every command takes --help.  Configuration: TRAFFIC_ENV_FILE (default\n"
    TR_CONFIG_DEFAULT_FILE ") and the environment.\n"
    "Exit codes: 0 ok, 1 failure, 2 usage, 78 configuration.\n";

static int
die_usage(const char *cmd, const char *help)
{
    fprintf(stderr, "traffic-ctl %s: bad usage\n%s", cmd, help);
    return 2;
}

static int
want_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

/* The single LEAD_ID argument of a command; 0 on success. */
static int
lead_arg(int argc, char **argv, int64_t *id)
{
    return argc == 2 && tr_parse_id(argv[1], id) == 0 ? 0 : -1;
}

/* Loads configuration (and rules when asked); 0 or an exit code. */
static int
setup(struct ctl *c, int need_db, int need_rules)
{
    char msg[512];

    tr_config_init(&c->cfg);
    if (tr_config_load(&c->cfg, msg, sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl: config: %s\n", msg);
        return EX_CONFIG;
    }
    if (need_db && tr_config_require(&c->cfg, TR_CFG_DATABASE_URL, msg,
                                     sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl: config: %s\n", msg);
        return EX_CONFIG;
    }
    if (need_rules) {
        enum tr_err err = c->cfg.targetologists_file
            ? tr_rules_load(&c->rules, c->cfg.targetologists_file, msg,
                            sizeof(msg))
            : tr_rules_init_default(&c->rules, msg, sizeof(msg));

        if (err != TR_OK) {
            fprintf(stderr, "traffic-ctl: rules: %s\n", msg);
            return EX_CONFIG;
        }
        c->have_rules = 1;
    }
    if (tr_store_init(&c->store, c->cfg.database_url, "traffic-ctl",
                      &c->cfg) != TR_OK) {
        fprintf(stderr, "traffic-ctl: out of memory\n");
        return 1;
    }
    return 0;
}

static void
teardown(struct ctl *c)
{
    tr_store_release(&c->store);
    if (c->have_rules)
        tr_rules_release(&c->rules);
    tr_config_release(&c->cfg);
}

static const char *
sql_dir(const char *opt)
{
    const char *env = getenv("TRAFFIC_SQL_DIR");

    if (opt != NULL)
        return opt;
    return env != NULL && env[0] != '\0' ? env : TR_SQL_DIR;
}

/* Telegram's part of check: the token (getMe), then every chat (getChat). */
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
    if (tr_telegram_check(&tg, NULL, &r) != TR_OK || r.outcome != TR_TG_SENT) {
        printf("problem: Telegram refuses TELEGRAM_BOT_TOKEN (%s): take the "
               "token from @BotFather again\n", r.description);
        tr_telegram_release(&tg);
        return 1;
    }
    printf("telegram: the bot token is accepted\n");
    for (i = 0; i < cfg->nchats; i++) {
        if (tr_telegram_check(&tg, cfg->chats[i].id, &r) == TR_OK &&
            r.outcome == TR_TG_SENT) {
            printf("telegram: chat %s reachable\n", cfg->chats[i].id);
            continue;
        }
        printf("problem: Telegram chat %s: %s: add the bot to the chat, or "
               "fix TELEGRAM_CHAT_IDS%s%s%s\n", cfg->chats[i].id,
               r.description, r.migrate_to[0] ? " (it moved to " : "",
               r.migrate_to, r.migrate_to[0] ? ")" : "");
        problems++;
    }
    tr_telegram_release(&tg);
    return problems;
}

/* The AmoCRM API's part of check: the number of problems found. */
static int
check_amocrm(const struct tr_config *cfg)
{
    struct tr_amocrm a;
    char base[512], why[512];
    enum tr_amo_status st;

    if (!tr_config_amocrm_base(cfg, base, sizeof(base))) {
        if (cfg->amocrm_access_token != NULL) {
            printf("problem: AMOCRM_ACCESS_TOKEN is set but neither "
                   "AMOCRM_DOMAIN nor AMOCRM_API_BASE: set the account\n");
            return 1;
        }
        printf("note: AMOCRM_ACCESS_TOKEN not set: sales are not completed "
               "or confirmed through the API\n");
        return 0;
    }
    if (tr_amocrm_init(&a, base, cfg->amocrm_access_token,
                       cfg->amo_timeout_ms, NULL) != TR_OK) {
        printf("problem: out of memory\n");
        return 1;
    }
    st = tr_amocrm_check(&a, why, sizeof(why));
    tr_amocrm_release(&a);
    switch (st) {
    case TR_AMO_OK:
        printf("amocrm: %s accepts the token\n", base);
        return 0;
    case TR_AMO_DENIED:
        printf("problem: %s refuses AMOCRM_ACCESS_TOKEN (%s): issue a new "
               "long-lived token in the integration's settings\n", base, why);
        return 1;
    default:
        printf("problem: %s cannot be asked (%s): check AMOCRM_DOMAIN or "
               "AMOCRM_API_BASE and the network\n", base, why);
        return 1;
    }
}

static int
cmd_check(struct ctl *c, int argc, char **argv)
{
    static const char help[] =
        "usage: traffic-ctl check [--sql-dir DIR]\n"
        "Prints the configuration with secrets masked, then one line per\n"
        "problem found.  Exit 1 when there is one.\n";
    struct tr_buf out;
    char msg[512];
    const char *dir = NULL;
    struct stat sb;
    int problems = 0, pending, rc, opt;
    static const struct option lo[] = {{"sql-dir", 1, NULL, 's'},
                                       {NULL, 0, NULL, 0}};

    if (want_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (opt != 's')
            return die_usage("check", help);
        dir = optarg;
    }
    if ((rc = setup(c, 0, 1)) != 0)
        return rc;
    tr_buf_init(&out, 64 * 1024);
    tr_config_dump(&c->cfg, &out);
    printf("env file: %s\n%s", c->cfg.env_file[0] ? c->cfg.env_file
                                                   : "(none, environment only)",
           out.data ? out.data : "");
    tr_buf_release(&out);
    printf("rules: %zu targetologists, fallback %s\n", c->rules.n,
           c->rules.fallback.name);
    if (c->cfg.env_file[0] != '\0' && stat(c->cfg.env_file, &sb) == 0 &&
        (sb.st_mode & S_IROTH)) {
        printf("problem: %s is readable by every user and holds secrets: "
               "chmod 640 it (group of the service user)\n", c->cfg.env_file);
        problems++;
    }
    if (c->cfg.database_url == NULL) {
        printf("problem: DATABASE_URL is not set: add it to the env file\n");
        problems++;
    } else if (tr_store_connect(&c->store, msg, sizeof(msg)) != TR_OK) {
        printf("problem: %s: check DATABASE_URL and that PostgreSQL runs\n",
               msg);
        problems++;
    } else if (tr_store_pending_migrations(&c->store, sql_dir(dir), &pending,
                                           msg, sizeof(msg)) != TR_OK) {
        printf("problem: %s\n", msg);
        problems++;
    } else if (pending > 0) {
        printf("problem: %d migration%s not applied: run traffic-ctl "
               "migrate\n", pending, pending == 1 ? "" : "s");
        problems++;
    } else {
        long waiting, failed;

        printf("database: reachable, schema up to date\n");
        if (tr_notify_counts(&c->store, &waiting, &failed, msg, sizeof(msg)) ==
            TR_OK) {
            printf("notifications: %ld pending, %ld failed\n", waiting,
                   failed);
            if (failed > 0) {
                printf("problem: %ld Telegram message%s failed for good: "
                       "see last_error in notification_outbox\n", failed,
                       failed == 1 ? "" : "s");
                problems++;
            }
        }
    }
    {
        long depth = tr_spool_depth(c->cfg.spool_dir);

        if (depth < 0) {
            printf("problem: SPOOL_DIR %s cannot be read: create it, owned "
                   "by the service user\n", c->cfg.spool_dir);
            problems++;
        } else {
            printf("spool: %ld request%s waiting%s\n", depth,
                   depth == 1 ? "" : "s",
                   depth > 0 ? " (traffic-ctl spool drain)" : "");
        }
    }
    problems += check_amocrm(&c->cfg);
    problems += check_telegram(&c->cfg);
    printf("%s\n", problems ? "check failed" : "check passed");
    return problems ? 1 : 0;
}

static int
cmd_migrate(struct ctl *c, int argc, char **argv)
{
    static const char help[] =
        "usage: traffic-ctl migrate [--sql-dir DIR]\n"
        "Applies the pending migrations (default " TR_SQL_DIR ",\n"
        "or TRAFFIC_SQL_DIR), each in a transaction, under a lock.\n";
    static const struct option lo[] = {{"sql-dir", 1, NULL, 's'},
                                       {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    char msg[1024];
    int rc, opt;

    if (want_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (opt != 's')
            return die_usage("migrate", help);
        dir = optarg;
    }
    if (optind != argc)
        return die_usage("migrate", help);
    if ((rc = setup(c, 1, 0)) != 0)
        return rc;
    if (tr_store_migrate(&c->store, sql_dir(dir), stdout, msg, sizeof(msg)) !=
        TR_OK) {
        fprintf(stderr, "traffic-ctl migrate: %s\n", msg);
        return 1;
    }
    return 0;
}

static int
cmd_logs(struct ctl *c, int argc, char **argv)
{
    static const char help[] =
        "usage: traffic-ctl logs [--limit N] [--status S] [--lead ID]\n"
        "                        [--source S]\n"
        "Shows webhook_logs rows, newest first (default 20, at most 1000).\n"
        "S is success, duplicate, skipped, ignored or error.\n";
    static const struct option lo[] = {
        {"limit", 1, NULL, 'n'}, {"status", 1, NULL, 's'},
        {"lead", 1, NULL, 'l'},  {"source", 1, NULL, 'o'},
        {NULL, 0, NULL, 0}};
    struct tr_logs_filter f = {20, NULL, 0, NULL};
    int64_t v;
    char msg[512];
    int rc, opt;

    if (want_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (tr_parse_id(optarg, &v) != 0 || v > 1000)
                return die_usage("logs", help);
            f.limit = (long)v;
            break;
        case 's':
            f.status = optarg;
            break;
        case 'l':
            if (tr_parse_id(optarg, &f.lead_id) != 0)
                return die_usage("logs", help);
            break;
        case 'o':
            f.source = optarg;
            break;
        default:
            return die_usage("logs", help);
        }
    }
    if (optind != argc)
        return die_usage("logs", help);
    if ((rc = setup(c, 1, 0)) != 0)
        return rc;
    if (tr_store_print_logs(&c->store, &f, stdout, msg, sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl logs: %s\n", msg);
        return 1;
    }
    return 0;
}

static int
cmd_purge(struct ctl *c, int argc, char **argv)
{
    static const char help[] =
        "usage: traffic-ctl purge-lead LEAD_ID\n"
        "Deletes the lead from sales_notifications, all_sales_tracking,\n"
        "notification_outbox and webhook_logs in one transaction.\n";
    int64_t id;
    char msg[512];
    int rc;

    if (want_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    if (lead_arg(argc, argv, &id) != 0)
        return die_usage("purge-lead", help);
    if ((rc = setup(c, 1, 0)) != 0)
        return rc;
    if (tr_store_purge_lead(&c->store, id, stdout, msg, sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl purge-lead: %s\n", msg);
        return 1;
    }
    return 0;
}

static char *
slurp(const char *path, size_t max, size_t *len, char *msg, size_t msgsz)
{
    struct tr_buf b;

    tr_buf_init(&b, max);
    if (tr_buf_read_file(&b, path, msg, msgsz) != TR_OK) {
        tr_buf_release(&b);
        return NULL;
    }
    *len = b.len;
    return tr_buf_detach(&b);
}

static int
cmd_replay(struct ctl *c, int argc, char **argv)
{
    static const char help[] =
        "usage: traffic-ctl replay [--dry-run] [--unified] FILE...\n"
        "Processes saved webhook bodies (urlencoded or JSON) through the\n"
        "same code as the handler, printing the outcome per file: as sent\n"
        "to /webhook/amocrm/traffic, or with --unified to /webhook/amocrm.\n"
        "With --dry-run it parses and matches without writing.\n";
    static const struct option lo[] = {{"dry-run", 0, NULL, 'd'},
                                       {"unified", 0, NULL, 'u'},
                                       {NULL, 0, NULL, 0}};
    enum tr_endpoint ep = TR_EP_TRAFFIC;
    struct tr_handler h;
    struct tr_results res;
    int dry = 0, rc, opt, failed = 0, i;

    if (want_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (opt == 'd')
            dry = 1;
        else if (opt == 'u')
            ep = TR_EP_UNIFIED;
        else
            return die_usage("replay", help);
    }
    if (optind == argc)
        return die_usage("replay", help);
    if ((rc = setup(c, !dry, 1)) != 0)
        return rc;
    tr_handler_init(&h, &c->cfg, &c->rules, &c->store);
    for (i = optind; i < argc; i++) {
        struct timespec ts;
        char at[40], msg[512];
        size_t len = 0, k;
        char *body = slurp(argv[i], c->cfg.max_body_bytes, &len, msg,
                           sizeof(msg));
        enum tr_body_type type;
        enum tr_err err;

        if (body == NULL) {
            printf("%s: error: %s\n", argv[i], msg);
            failed++;
            continue;
        }
        for (k = 0; k < len && (body[k] == ' ' || body[k] == '\n'); k++)
            ;
        type = k < len && body[k] == '{' ? TR_BODY_JSON : TR_BODY_FORM;
        while (type == TR_BODY_FORM && len > 0 &&
               (body[len - 1] == '\n' || body[len - 1] == '\r'))
            len--;
        clock_gettime(CLOCK_REALTIME, &ts);
        tr_store_timestamp(at, sizeof(at), ts.tv_sec, ts.tv_nsec);
        err = tr_handler_process(&h, ep, type, body, len, NULL, at, dry, &res,
                                 msg,
                                 sizeof(msg));
        if (err != TR_OK) {
            printf("%s: error: %s\n", argv[i], msg);
            failed++;
        } else {
            printf("%s: total=%zu processed=%zu duplicates=%zu skipped=%zu "
                   "ignored=%zu errors=%zu leads=%s\n",
                   argv[i], res.total, res.processed, res.duplicates,
                   res.skipped, res.ignored, res.errors, res.summary);
        }
        free(body);
    }
    return failed ? 1 : 0;
}

static int
cmd_message(struct ctl *c, int argc, char **argv)
{
    static const char help[] =
        "usage: traffic-ctl message LEAD_ID\n"
        "Prints the Telegram message (HTML parse mode) of a stored sale and\n"
        "its notification status.\n";
    char msg[512], *text = NULL, *status = NULL;
    int64_t id;
    int rc;

    if (want_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    if (lead_arg(argc, argv, &id) != 0)
        return die_usage("message", help);
    if ((rc = setup(c, 1, 0)) != 0)
        return rc;
    if (tr_notify_render(&c->store, id, 1, &text, &status, msg, sizeof(msg)) !=
        TR_OK) {
        fprintf(stderr, "traffic-ctl message: %s\n", msg);
        return 1;
    }
    printf("%s\n-- notification_status: %s\n", text, status);
    free(text);
    free(status);
    return 0;
}

static void
print_line(void *arg, const char *line)
{
    (void)arg;
    printf("%s\n", line);
    fflush(stdout);
}

static int
cmd_resend(struct ctl *c, int argc, char **argv)
{
    static const char help[] =
        "usage: traffic-ctl resend LEAD_ID\n"
        "Queues the stored sale's Telegram message again for every chat in\n"
        "TELEGRAM_CHAT_IDS, whatever happened to it before, and sends it.\n";
    struct tr_notify n;
    struct tr_notify_stats st = {0, 0, 0};
    char msg[512];
    int64_t id;
    long rows;
    int rc;

    if (want_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    if (lead_arg(argc, argv, &id) != 0)
        return die_usage("resend", help);
    if ((rc = setup(c, 1, 0)) != 0)
        return rc;
    if (tr_notify_init(&n, &c->cfg, &c->store, print_line, NULL) != TR_OK) {
        fprintf(stderr, "traffic-ctl resend: out of memory\n");
        return 1;
    }
    if (!n.enabled) {
        fprintf(stderr, "traffic-ctl resend: TELEGRAM_BOT_TOKEN and "
                "TELEGRAM_CHAT_IDS must be set\n");
        tr_notify_release(&n);
        return EX_CONFIG;
    }
    if (tr_notify_resend(&n, id, &rows, msg, sizeof(msg)) != TR_OK ||
        tr_notify_deliver(&n, (size_t)rows, &id, 1, &st, msg, sizeof(msg)) !=
            TR_OK) {
        fprintf(stderr, "traffic-ctl resend: %s\n", msg);
        tr_notify_release(&n);
        return 1;
    }
    printf("resend: lead %lld: %zu sent, %zu to retry, %zu failed (%ld "
           "chat%s; what pacing holds back the sidecar sends)\n",
           (long long)id, st.sent, st.retried, st.failed, rows,
           rows == 1 ? "" : "s");
    tr_notify_release(&n);
    return st.failed > 0 ? 1 : 0;
}

/* "30d", "12h", "90m", "3600s" or "3600" in seconds; -1 when malformed. */
static long long
parse_age(const char *s)
{
    char num[24];
    size_t n = strlen(s);
    long long mult = 1;
    int64_t v;

    if (n == 0 || n >= sizeof(num))
        return -1;
    switch (s[n - 1]) {
    case 'd':
        mult = 86400;
        break;
    case 'h':
        mult = 3600;
        break;
    case 'm':
        mult = 60;
        break;
    case 's':
        break;
    default:
        n++;    /* no unit: seconds */
    }
    memcpy(num, s, n - 1);
    num[n - 1] = '\0';
    if (tr_parse_id(num, &v) != 0 || v > 100LL * 365 * 86400 / mult)
        return -1;
    return v * mult;
}

static int
cmd_prune(struct ctl *c, int argc, char **argv)
{
    static const char help[] =
        "usage: traffic-ctl prune --older-than AGE\n"
        "Deletes webhook_logs rows received more than AGE ago (30d, 12h,\n"
        "90m or seconds); the sales themselves are kept.\n";
    static const struct option lo[] = {{"older-than", 1, NULL, 'o'},
                                       {NULL, 0, NULL, 0}};
    long long age = -1;
    long removed;
    char msg[512];
    int rc, opt;

    if (want_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (opt != 'o' || (age = parse_age(optarg)) < 0)
            return die_usage("prune", help);
    }
    if (optind != argc || age < 0)
        return die_usage("prune", help);
    if ((rc = setup(c, 1, 0)) != 0)
        return rc;
    if (tr_store_prune_logs(&c->store, age, &removed, msg, sizeof(msg)) !=
        TR_OK) {
        fprintf(stderr, "traffic-ctl prune: %s\n", msg);
        return 1;
    }
    printf("webhook_logs: %ld row%s older than %lld s removed\n", removed,
           removed == 1 ? "" : "s", age);
    return 0;
}

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

/* Sleeps up to seconds, returning early on SIGTERM. */
static void
nap(double seconds)
{
    struct timespec ts;

    if (seconds < 0.05)
        seconds = 0.05;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    if (!stopping)
        nanosleep(&ts, NULL);   /* EINTR on SIGTERM is the point */
}

/* Replays the spool when it holds anything; lines go to stdout. */
static enum tr_err
drain(struct tr_handler *h, const char *dir, char *msg, size_t msgsz)
{
    struct tr_spool_stats st;
    enum tr_err err;

    if (tr_spool_depth(dir) <= 0)
        return TR_OK;
    err = tr_spool_drain(dir, h, stdout, &st, msg, msgsz);
    if (st.replayed + st.corrupt > 0)
        printf("spool: %zu replayed, %zu set aside, %zu left\n", st.replayed,
               st.corrupt, st.left);
    fflush(stdout);
    return err;
}

static int
cmd_spool(struct ctl *c, int argc, char **argv)
{
    static const char help[] =
        "usage: traffic-ctl spool [status|drain]\n"
        "status (the default) prints how many requests wait in SPOOL_DIR;\n"
        "drain replays them, oldest first, through the webhook's own code\n"
        "and removes each after its commit (exit 1 if some are left).\n"
        "Unreadable entries are moved to SPOOL_DIR/corrupt.\n";
    struct tr_handler h;
    char msg[512];
    const char *what = argc > 1 ? argv[1] : "status";
    long depth;
    int rc;

    if (want_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    if (argc > 2 || (strcmp(what, "status") != 0 && strcmp(what, "drain") != 0))
        return die_usage("spool", help);
    if ((rc = setup(c, strcmp(what, "drain") == 0, 1)) != 0)
        return rc;
    if (strcmp(what, "drain") == 0) {
        tr_handler_init(&h, &c->cfg, &c->rules, &c->store);
        if (drain(&h, c->cfg.spool_dir, msg, sizeof(msg)) != TR_OK) {
            fprintf(stderr, "traffic-ctl spool drain: %s\n", msg);
            return 1;
        }
    }
    if ((depth = tr_spool_depth(c->cfg.spool_dir)) < 0) {
        fprintf(stderr, "traffic-ctl spool: cannot read %s\n",
                c->cfg.spool_dir);
        return 1;
    }
    printf("spool %s: %ld request%s waiting\n", c->cfg.spool_dir, depth,
           depth == 1 ? "" : "s");
    /* drain leaves nothing behind unless the database stopped it */
    return strcmp(what, "drain") == 0 && depth > 0 ? 1 : 0;
}

static int
cmd_deliver(struct ctl *c, int argc, char **argv)
{
    static const char help[] =
        "usage: traffic-ctl deliver [--loop] [--now]\n"
        "Replays the spool (requests taken while the database was away),\n"
        "sends the Telegram messages of the outbox that are due, waiting out\n"
        "the chats' pacing, then exits (1 if a message failed for good).\n"
        "  --now   first make messages waiting for a retry due at once\n"
        "  --loop  keep running (the traffic-webhook-deliver sidecar): send\n"
        "          messages as they fall due; stop cleanly on SIGTERM\n";
    static const struct option lo[] = {{"loop", 0, NULL, 'l'},
                                       {"now", 0, NULL, 'n'},
                                       {NULL, 0, NULL, 0}};
    struct tr_notify n;
    struct tr_notify_stats st = {0, 0, 0};
    struct tr_enrich e;
    struct tr_handler h;
    struct sigaction sa;
    struct timespec t0, t;
    char msg[512];
    long due = 0, pending = 0, rows;
    double wait = -1;
    int loop = 0, now = 0, rc, opt;

    if (want_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (opt == 'l')
            loop = 1;
        else if (opt == 'n')
            now = 1;
        else
            return die_usage("deliver", help);
    }
    if (optind != argc)
        return die_usage("deliver", help);
    if ((rc = setup(c, 1, 1)) != 0)
        return rc;
    if (tr_notify_init(&n, &c->cfg, &c->store, print_line, NULL) != TR_OK ||
        tr_enrich_init(&e, &c->cfg, &c->rules, &c->store, print_line, NULL) !=
            TR_OK) {
        fprintf(stderr, "traffic-ctl deliver: out of memory\n");
        return 1;
    }
    if (!n.enabled)
        printf("deliver: TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_IDS not set: "
               "no messages to send, only the spool to replay\n");
    tr_handler_init(&h, &c->cfg, &c->rules, &c->store);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;    /* no SA_RESTART: a nap ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (now) {
        if (tr_notify_retry_now(&n, &rows, msg, sizeof(msg)) != TR_OK) {
            fprintf(stderr, "traffic-ctl deliver: %s\n", msg);
            tr_enrich_release(&e);
            tr_notify_release(&n);
            return 1;
        }
        printf("deliver: %ld message%s made due now\n", rows,
               rows == 1 ? "" : "s");
    }
    if (loop)
        printf("deliver: running; SIGTERM stops\n");
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!stopping) {
        if (drain(&h, c->cfg.spool_dir, msg, sizeof(msg)) != TR_OK ||
            tr_enrich_run(&e, 100, 5, msg, sizeof(msg)) != TR_OK ||
            tr_notify_deliver(&n, 100, NULL, 0, &st, msg, sizeof(msg)) !=
                TR_OK ||
            tr_notify_pending(&n, &due, &pending, &wait, msg,
                              sizeof(msg)) != TR_OK) {
            printf("deliver: %s\n", msg);
            fflush(stdout);
            if (!loop) {
                rc = 1;
                break;
            }
            nap(5);     /* the database is away: try again later */
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        /* once: what is due, held back only by pacing, for ten minutes */
        if (!loop && (due == 0 || t.tv_sec - t0.tv_sec > 600))
            break;
        nap(wait < 0 || wait > 1 ? 1 : wait);
    }
    printf("deliver: %zu sent, %zu to retry, %zu failed; %ld pending\n",
           st.sent, st.retried, st.failed, pending);
    tr_enrich_release(&e);
    tr_notify_release(&n);
    return rc != 0 ? rc : st.failed > 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
    struct ctl c;
    const char *cmd;
    int rc;

    memset(&c, 0, sizeof(c));
    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    cmd = argv[1];
    argc--;
    argv++;
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        if (want_help(argc, argv))
            fputs("usage: traffic-ctl version\nPrints the version.\n",
                  stdout);
        else
            printf("traffic-ctl %s\n", TR_VERSION);
        return 0;
    }
    if (strcmp(cmd, "check") == 0)
        rc = cmd_check(&c, argc, argv);
    else if (strcmp(cmd, "migrate") == 0)
        rc = cmd_migrate(&c, argc, argv);
    else if (strcmp(cmd, "logs") == 0)
        rc = cmd_logs(&c, argc, argv);
    else if (strcmp(cmd, "purge-lead") == 0)
        rc = cmd_purge(&c, argc, argv);
    else if (strcmp(cmd, "replay") == 0)
        rc = cmd_replay(&c, argc, argv);
    else if (strcmp(cmd, "spool") == 0)
        rc = cmd_spool(&c, argc, argv);
    else if (strcmp(cmd, "deliver") == 0)
        rc = cmd_deliver(&c, argc, argv);
    else if (strcmp(cmd, "resend") == 0)
        rc = cmd_resend(&c, argc, argv);
    else if (strcmp(cmd, "prune") == 0)
        rc = cmd_prune(&c, argc, argv);
    else if (strcmp(cmd, "message") == 0)
        rc = cmd_message(&c, argc, argv);
    else {
        fprintf(stderr, "traffic-ctl: unknown command \"%s\"\n%s", cmd,
                usage_text);
        return 2;
    }
    teardown(&c);
    return rc;
}
