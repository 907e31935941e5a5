/*
 * traffic-ctl: the operator's tool.
 *
 * A thin main() over libtraffic: the table of commands below, and what they
 * share: option parsing, --help, usage errors, loading the configuration
 * the service uses (TRAFFIC_ENV_FILE and the environment).  Each command
 * lives in a file of this folder.  Exit codes: 0 done, 1 something is
 * wrong (said on stderr), 2 bad usage, 78 bad configuration.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "libtraffic/base/num.h"
#include "libtraffic/base/privs.h"
#include "libtraffic/router.h"
#include "libtraffic/db/store.h"

static int version(struct ctl *c);

static const struct ctl_command commands[] = {
    {"check",
     ctl_check,
     NULL,
     "[--sql-dir DIR] [--config-only]",
     "the configuration (secrets masked), the database and schema, "
     "Telegram, AmoCRM, the spool and failed messages",
     "Prints the configuration with secrets masked, then one line per\n"
     "problem found, every one of them.  --config-only: the configuration,\n"
     "the rules and the spool alone, no database and no network (the\n"
     "units' ExecStartPre).  Exit 78 for a bad configuration, 1 for\n"
     "another problem.\n",
     CTL_CONFIG | CTL_RULES | CTL_PROBLEMS,
     0,
     0,
     {{"sql-dir", "DIR"}, {"config-only", NULL}}},
    {"migrate",
     ctl_migrate,
     NULL,
     "[--sql-dir DIR]",
     "apply the pending sql/ migrations",
     "Applies the pending migrations (default " TR_SQL_DIR ",\n"
     "or TRAFFIC_SQL_DIR), each in a transaction, under a lock.  A\n"
     "fresh schema takes the newest baseline-NNN.sql instead.\n",
     CTL_CONFIG | CTL_DB,
     0,
     0,
     {{"sql-dir", "DIR"}}},
    {"adopt",
     ctl_adopt,
     NULL,
     "[--sql-dir DIR] [--dry-run]",
     "take over the old handler's tables, then migrate",
     "Converts tables named as ours but of another shape (the old Node.js\n"
     "handler's sales_notifications, all_sales_tracking, webhook_logs) in\n"
     "place, in one transaction under the migrations' lock, printing what\n"
     "each step does; then applies the migrations.  A row that cannot stay\n"
     "(a second row of a lead, a lead id that is not a number) moves to\n"
     "adopt_quarantine with the reason; the old columns stay.  --dry-run\n"
     "does it all and rolls it back.  Needs a session: not through a\n"
     "transaction pooler.\n",
     CTL_CONFIG | CTL_DB,
     0,
     0,
     {{"sql-dir", "DIR"}, {"dry-run", NULL}}},
    {"logs",
     ctl_logs,
     ctl_logs_args,
     "[--limit N] [--status S] [--lead ID] [--source S]",
     "show webhook_logs, newest first",
     "Shows webhook_logs rows, newest first (default 20, at most 1000).\n"
     "S is success, duplicate, skipped, ignored or error.\n",
     CTL_CONFIG | CTL_DB,
     0,
     0,
     {{"limit", "N"}, {"status", "S"}, {"lead", "ID"}, {"source", "S"}}},
    {"purge-lead",
     ctl_purge,
     ctl_lead_args,
     "LEAD_ID",
     "delete a (test) lead from every table",
     "Deletes the lead from every table that holds it (the sales, the\n"
     "outbox, the conversions, the logs) in one transaction.\n",
     CTL_CONFIG | CTL_DB,
     1,
     1,
     {{NULL, NULL}}},
    {"replay",
     ctl_replay,
     NULL,
     "[--dry-run] [--unified] FILE...",
     "process saved bodies as the webhook does",
     "Processes saved webhook bodies (urlencoded or JSON) through the\n"
     "same code as the webhook, printing the outcome per file: as sent\n"
     "to /webhook/amocrm/traffic, or with --unified to /webhook/amocrm.\n"
     "With --dry-run it parses and matches without writing.\n",
     CTL_CONFIG | CTL_RULES,
     1,
     100000,
     {{"dry-run", NULL}, {"unified", NULL}}},
    {"deliver",
     ctl_deliver,
     NULL,
     "[--loop] [--now]",
     "replay the spool, send the due Telegram messages (--loop: keep "
     "running, the sidecar)",
     "Replays the spool (requests taken while the database was away),\n"
     "sends the Telegram messages of the outbox that are due, waiting out\n"
     "the chats' pacing, then exits (1 if a message failed for good).\n"
     "  --now   first make messages waiting for a retry due at once\n"
     "  --loop  keep running (the traffic-webhook-deliver sidecar): send\n"
     "          messages as they fall due; stop cleanly on SIGTERM\n",
     CTL_CONFIG | CTL_DB | CTL_RULES,
     0,
     0,
     {{"loop", NULL}, {"now", NULL}}},
    {"spool",
     ctl_spool,
     ctl_spool_args,
     "[status|drain]",
     "requests spooled while the database was away",
     "status (the default) prints how many requests wait in SPOOL_DIR;\n"
     "drain replays them, oldest first, through the webhook's own code\n"
     "and removes each after its commit (exit 1 if some are left).\n"
     "Unreadable entries, and those the database refuses (a constraint,\n"
     "a value out of range), move to SPOOL_DIR/corrupt, NAME.why beside.\n",
     CTL_CONFIG | CTL_RULES,
     0,
     1,
     {{NULL, NULL}}},
    {"message",
     ctl_message,
     ctl_lead_args,
     "LEAD_ID",
     "print the Telegram message of a stored sale",
     "Prints the Telegram message (HTML parse mode) of a stored sale and\n"
     "its notification status.\n",
     CTL_CONFIG | CTL_DB,
     1,
     1,
     {{NULL, NULL}}},
    {"resend",
     ctl_resend,
     ctl_lead_args,
     "LEAD_ID",
     "send a stored sale's message again",
     "Queues the stored sale's Telegram message again for every chat in\n"
     "TELEGRAM_CHAT_IDS, whatever happened to it before, and sends it.\n",
     CTL_CONFIG | CTL_DB,
     1,
     1,
     {{NULL, NULL}}},
    {"digest",
     ctl_digest,
     ctl_digest_args,
     "[--date YYYY-MM-DD] [--dry-run]",
     "send the daily summary now (today's, or DATE's, in DIGEST_TZ)",
     "Queues the day's summary for every chat of TELEGRAM_CHAT_IDS that has\n"
     "none yet, or whose summary failed, and sends it; a chat that got it\n"
     "already does not get it twice.  --dry-run prints the text and sends\n"
     "nothing.  The deliver sidecar does this itself at DIGEST_AT.\n",
     CTL_CONFIG | CTL_DB | CTL_RULES,
     0,
     0,
     {{"date", "YYYY-MM-DD"}, {"dry-run", NULL}}},
    {"ads",
     ctl_ads,
     ctl_ads_args,
     "sync [--since YYYY-MM-DD] [--until YYYY-MM-DD]",
     "read Facebook's ad spend and the official rates",
     "Reads every ad account of FACEBOOK_AD_ACCOUNTS from the Facebook\n"
     "Marketing API (spend per day and campaign, from ADS_LOOKBACK_DAYS ago\n"
     "to today in DIGEST_TZ, or --since/--until) into ad_spend: a revised\n"
     "day replaces its figure.  A campaign's spend is its account's\n"
     "targetologist's (act_ID:Name), else the one whose patterns match the\n"
     "campaign name, else Unknown.  Then the National Bank of Kazakhstan's\n"
     "rate of every day with spend in another currency (a weekend takes\n"
     "the latest earlier one).  The deliver sidecar does this every\n"
     "ADS_SYNC_INTERVAL_S.\n",
     CTL_CONFIG | CTL_DB | CTL_RULES,
     1,
     1,
     {{"since", "YYYY-MM-DD"}, {"until", "YYYY-MM-DD"}}},
    {"roi",
     ctl_roi,
     ctl_roi_args,
     "[--from YYYY-MM-DD] [--to YYYY-MM-DD] [--csv]",
     "return on ad spend per targetologist",
     "Per targetologist (the rules' order, then Unknown, then TOTAL) from\n"
     "--from (default: the month's first day) to --to (default: today),\n"
     "days in DIGEST_TZ: sales and revenue as the dashboard counts them,\n"
     "spend in tenge at the official rates, ROI % = (revenue - spend) /\n"
     "spend * 100, ROAS = revenue / spend, CPA = spend / sales; \"-\" where\n"
     "the divisor is 0, and rows below ROI_TARGET_PCT marked.  --csv: the\n"
     "header targetologist,sales,revenue_kzt,spend_kzt,roi_pct,roas,cpa_kzt\n"
     "and empty fields where undefined.\n",
     CTL_CONFIG | CTL_DB | CTL_RULES,
     0,
     0,
     {{"from", "YYYY-MM-DD"}, {"to", "YYYY-MM-DD"}, {"csv", NULL}}},
    {"reconcile",
     ctl_reconcile,
     ctl_reconcile_args,
     "[--since AGE] [--dry-run] [--force]",
     "hold the stored sales against the AmoCRM API (lost webhooks)",
     "Asks the AmoCRM API for the won leads changed in the last AGE\n"
     "(default RECONCILE_WINDOW, 72h) and for every stored sale of that\n"
     "time: a won lead not stored becomes a sale, a new price is\n"
     "corrected, a lead the API returns in another status (or deleted,\n"
     "by its events) is reversed; a lead it leaves out is unverified and\n"
     "changes nothing.  A run that would reverse more than a tenth of the\n"
     "window's won sales (and more than three) reverses none; --force\n"
     "reverses them.  Also says whether AmoCRM's webhook posts here.\n"
     "Ends with one line: reconcile: checked N, recovered N, corrected N,\n"
     "reversed N, unchanged N, unverified N.  --dry-run writes nothing.\n",
     CTL_CONFIG | CTL_DB | CTL_RULES,
     0,
     0,
     {{"since", "AGE"}, {"dry-run", NULL}, {"force", NULL}}},
    {"sale",
     ctl_sale,
     ctl_lead_args,
     "LEAD_ID",
     "a sale's whole life: its rows, events, messages and logs",
     "Prints the stored sale of LEAD_ID (won or reversed, its amount and\n"
     "targetologist, whether the dashboard has it), its events (won,\n"
     "price_changed, reversed, restored, reassigned), its messages and\n"
     "its webhook_logs rows.\n",
     CTL_CONFIG | CTL_DB,
     1,
     1,
     {{NULL, NULL}}},
    {"reassign",
     ctl_reassign,
     ctl_reassign_args,
     "LEAD_ID NAME",
     "move a sale to another targetologist on purpose",
     "Moves the sale of LEAD_ID to the targetologist NAME of the rules\n"
     "(a sale's attribution is otherwise frozen when it is won): both\n"
     "sale tables, a 'reassigned' event, edits of its sent messages.\n",
     CTL_CONFIG | CTL_DB | CTL_RULES,
     2,
     2,
     {{NULL, NULL}}},
    {"prune",
     ctl_prune,
     ctl_prune_args,
     "--older-than AGE",
     "delete webhook_logs older than AGE (30d, 12h)",
     "Deletes webhook_logs rows received more than AGE ago (30d, 12h,\n"
     "90m or seconds); the sales themselves are kept.\n",
     CTL_CONFIG | CTL_DB,
     0,
     0,
     {{"older-than", "AGE"}}},
    {"version",
     version,
     NULL,
     "",
     "print the version",
     "Prints the version.\n",
     0,
     0,
     0,
     {{NULL, NULL}}},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int
version(struct ctl *c)
{
    (void)c;
    printf("traffic-ctl %s\n", TR_VERSION);
    return 0;
}

/* Prints s in lines of at most width, each after indent spaces but the
 * first (which goes where the cursor is). */
static void
wrap(FILE *f, const char *s, int indent, int width)
{
    int len = 0, w;

    while (*s != '\0') {
        w = (int)strcspn(s, " ");
        if (len > 0 && len + 1 + w > width) {
            fprintf(f, "\n%*s", indent, "");
            len = 0;
        }
        fprintf(f, "%s%.*s", len > 0 ? " " : "", w, s);
        len += (len > 0) + w;
        s += w;
        s += strspn(s, " ");
    }
    fputc('\n', f);
}

/* traffic-ctl --help: every command with its summary. */
static void
usage(FILE *f)
{
    char left[128];
    size_t i;

    fputs("usage: traffic-ctl COMMAND [OPTIONS]\n\ncommands:\n", f);
    for (i = 0; i < NCOMMANDS; i++) {
        snprintf(left, sizeof(left), "%s%s%s", commands[i].name,
                 commands[i].synopsis[0] ? " " : "", commands[i].synopsis);
        if (strlen(left) > 26)
            fprintf(f, "  %s\n%29s", left, "");
        else
            fprintf(f, "  %-26s ", left);
        wrap(f, commands[i].summary, 29, 48);
    }
    fputs("\nEvery command takes --help.  Configuration: TRAFFIC_ENV_FILE "
          "(default\n" TR_CONFIG_DEFAULT_FILE ") and the environment.\n"
          "Exit codes: 0 ok, 1 failure, 2 usage, 78 configuration.\n",
          f);
}

static void
command_help(const struct ctl_command *cmd, FILE *f)
{
    fprintf(f, "usage: traffic-ctl %s%s%s\n%s", cmd->name,
            cmd->synopsis[0] ? " " : "", cmd->synopsis, cmd->help);
}

int
ctl_usage(const struct ctl *c)
{
    fprintf(stderr, "traffic-ctl %s: bad usage\n", c->cmd->name);
    command_help(c->cmd, stderr);
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

/* The options and operands of argv (argv[0] the command) into c. */
static int
parse(struct ctl *c, int argc, char **argv)
{
    const struct ctl_command *cmd = c->cmd;
    struct option lo[CTL_OPTIONS_MAX + 1];
    int n, opt;

    memset(lo, 0, sizeof(lo));
    for (n = 0; n < CTL_OPTIONS_MAX && cmd->options[n].name != NULL; n++) {
        lo[n].name = cmd->options[n].name;
        lo[n].has_arg = cmd->options[n].arg ? required_argument : no_argument;
        lo[n].val = 256 + n;
    }
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (opt < 256)
            return -1;
        c->opt[opt - 256] = optarg ? optarg : "";
    }
    c->operand = argv + optind;
    c->noperands = argc - optind;
    if (c->noperands < cmd->min_operands || c->noperands > cmd->max_operands)
        return -1;
    return cmd->args != NULL ? cmd->args(c) : 0;
}

int
ctl_require_db(struct ctl *c)
{
    char msg[256];

    if (tr_config_require(&c->cfg, TR_CFG_DATABASE_URL, msg, sizeof(msg)) ==
        TR_OK)
        return 0;
    fprintf(stderr, "traffic-ctl: config: %s\n", msg);
    return EX_CONFIG;
}

/* Loads what the command needs: 0 or an exit code. */
/*
 * CTL_PROBLEMS: every problem of the configuration, not only the first:
 * each one said, its key set back to its default, the rest checked again.
 */
static void
config_problems(struct ctl *c)
{
    char msg[512], key[64];
    int i;

    while (c->problems < TR_CFG_NKEYS &&
           tr_config_finish(&c->cfg, msg, sizeof(msg)) != TR_OK) {
        printf("problem: %s\n", msg);
        c->problems++;
        snprintf(key, sizeof(key), "%.*s", (int)strcspn(msg, ": "), msg);
        for (i = 0; i < TR_CFG_NKEYS && strcmp(tr_config_key_name(i), key); i++)
            ;
        if (i == TR_CFG_NKEYS ||
            tr_config_set(&c->cfg, key, "", msg, sizeof(msg)) != TR_OK)
            break;
    }
}

/* The configuration: exit 78 when it is bad, unless the command says. */
static int
load_config(struct ctl *c)
{
    const char *path = getenv("TRAFFIC_ENV_FILE");
    char msg[512];

    if (!(c->cmd->needs & CTL_PROBLEMS)) {
        if (tr_config_load(&c->cfg, msg, sizeof(msg)) == TR_OK)
            return 0;
        fprintf(stderr, "traffic-ctl: config: %s\n", msg);
        return EX_CONFIG;
    }
    if ((path != NULL && path[0] != '\0'
             ? tr_config_load_file(&c->cfg, path, 1, msg, sizeof(msg))
             : tr_config_load_file(&c->cfg, TR_CONFIG_DEFAULT_FILE, 0, msg,
                                   sizeof(msg))) != TR_OK ||
        tr_config_load_env(&c->cfg, msg, sizeof(msg)) != TR_OK) {
        printf("problem: %s\n", msg);
        c->problems++;
        return 0;
    }
    config_problems(c);
    return 0;
}

static int
setup(struct ctl *c)
{
    unsigned needs = c->cmd->needs;
    char msg[512];
    enum tr_err err;
    int rc;

    if (!(needs & CTL_CONFIG))
        return 0;
    if ((rc = load_config(c)) != 0)
        return rc;
    if (c->cfg.warnings[0] != '\0')
        fprintf(stderr, "traffic-ctl: warning: %s\n", c->cfg.warnings);
    if ((needs & CTL_DB) && (rc = ctl_require_db(c)) != 0)
        return rc;
    if (c->problems > 0)
        return 0; /* the command says what is wrong */
    if (needs & CTL_RULES) {
        err = tr_rules_configured(&c->rules, c->cfg.targetologists_file, msg,
                                  sizeof(msg));
        if (err != TR_OK && (needs & CTL_PROBLEMS)) {
            printf("problem: rules: %s\n", msg);
            c->problems++;
            return 0;
        }
        if (err != TR_OK) {
            fprintf(stderr, "traffic-ctl: rules: %s\n", msg);
            return EX_CONFIG;
        }
    }
    if ((c->store = tr_store_new(c->cfg.database_url, "traffic-ctl",
                                 c->cfg.statement_timeout_ms,
                                 c->cfg.db_answer_ms)) == NULL) {
        fprintf(stderr, "traffic-ctl: out of memory\n");
        return 1;
    }
    return 0;
}

static const struct ctl_command *
find(const char *name)
{
    size_t i;

    if (strcmp(name, "--version") == 0)
        name = "version";
    for (i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* As root, the service's user (privs.h); 0, or 1 said. */
static int
become_service(const char *cmd)
{
    char msg[256];

    if (tr_privs_drop(msg, sizeof(msg)) >= 0)
        return 0;
    fprintf(stderr,
            "traffic-ctl %s: %s: run it as the service's user "
            "(runuser -u %s -- traffic-ctl %s ...)\n",
            cmd, msg, tr_privs_service_user(), cmd);
    return 1;
}

int
main(int argc, char **argv)
{
    struct ctl c;
    int rc;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    memset(&c, 0, sizeof(c));
    if ((c.cmd = find(argv[1])) == NULL) {
        fprintf(stderr, "traffic-ctl: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
        return 2;
    }
    if (want_help(argc - 1, argv + 1)) {
        command_help(c.cmd, stdout);
        return 0;
    }
    if (parse(&c, argc - 1, argv + 1) != 0)
        return ctl_usage(&c);
    /* as root, every command runs as the service's user: it connects as
     * the service does (peer authentication) and nothing it writes (a
     * spool entry, the metrics file) is root's */
    if (become_service(c.cmd->name) != 0)
        return 1;
    tr_config_init(&c.cfg);
    if ((rc = setup(&c)) == 0)
        rc = c.cmd->run(&c);
    tr_store_free(c.store);
    tr_rules_release(&c.rules);
    tr_config_release(&c.cfg);
    return rc;
}

/* ---- what the commands share ------------------------------------------ */

int
ctl_lead(const struct ctl *c, int64_t *id)
{
    return c->noperands == 1 && tr_parse_id(c->operand[0], id) == 0 ? 0 : -1;
}

int
ctl_lead_args(const struct ctl *c)
{
    int64_t id;

    return ctl_lead(c, &id);
}

const char *
ctl_sql_dir(const char *opt)
{
    const char *env = getenv("TRAFFIC_SQL_DIR");

    if (opt != NULL)
        return opt;
    return env != NULL && env[0] != '\0' ? env : TR_SQL_DIR;
}

void
ctl_print_line(void *arg, enum tr_log_level level, const char *line)
{
    (void)arg;
    /* the journal's priority, as the workers give it (the sidecar's unit) */
    if (getenv("JOURNAL_STREAM") != NULL)
        printf("<%d>", (int)level);
    printf("%s\n", line);
    fflush(stdout);
}
