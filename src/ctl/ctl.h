/*
 * ctl.h: what the commands of traffic-ctl share.
 *
 * Each command is one entry of the table in main.c: its name, its
 * synopsis and help, the options it takes, how many operands, and what it
 * needs set up before it runs (the configuration, DATABASE_URL, the
 * rules).  main.c parses the options for it, prints its --help and its
 * usage errors (exit 2), does the setup (exit 78 on a bad configuration)
 * and calls it.  Commands print their results on stdout and their failures
 * on stderr, and return the exit code: 0 ok, 1 failure.
 */
#ifndef CTL_H
#define CTL_H

#include <stdint.h>
#include <stdio.h>

#include "libtraffic/base/config.h"
#include "libtraffic/base/log.h"
#include "libtraffic/base/rules.h"

struct tr_store;

#define EX_CONFIG 78
#define CTL_OPTIONS_MAX 4

#ifndef TR_SQL_DIR
#define TR_SQL_DIR "/usr/share/traffic-webhook/sql"
#endif

/* What a command needs before it runs. */
enum {
    CTL_CONFIG = 1,   /* the env file and the environment */
    CTL_DB = 2,       /* DATABASE_URL set (else exit 78) */
    CTL_RULES = 4,    /* the targetologists */
    CTL_PROBLEMS = 8, /* with CTL_CONFIG: a bad configuration is the
                       * command's to report (every problem, not only the
                       * first), in problems */
};

struct ctl;

struct ctl_option {
    const char *name; /* "limit" for --limit */
    const char *arg;  /* its argument ("N"), or NULL for a flag */
};

struct ctl_command {
    const char *name;
    int (*run)(struct ctl *c);
    /* checks the operands and option values before any setup: 0, or -1
     * for a usage error; NULL when the counts are all there is to check */
    int (*args)(const struct ctl *c);
    const char *synopsis; /* after the name: "[--limit N] ..." */
    const char *summary;  /* its line in traffic-ctl --help */
    const char *help;     /* the rest of its --help */
    unsigned needs;
    int min_operands, max_operands;
    struct ctl_option options[CTL_OPTIONS_MAX];
};

struct ctl {
    const struct ctl_command *cmd;
    struct tr_config cfg;
    struct tr_rules rules;
    struct tr_store *store;
    /* per option of cmd, in its order: the argument, "" for a flag given,
     * NULL when not given */
    const char *opt[CTL_OPTIONS_MAX];
    char **operand;
    int noperands;
    int problems; /* CTL_PROBLEMS: those of the configuration and rules */
};

/* The commands, one file each (or a group), and their argument checks. */
int ctl_check(struct ctl *c);
int ctl_migrate(struct ctl *c);
int ctl_adopt(struct ctl *c);
int ctl_logs(struct ctl *c);
int ctl_logs_args(const struct ctl *c);
int ctl_purge(struct ctl *c);
int ctl_prune(struct ctl *c);
int ctl_prune_args(const struct ctl *c);
int ctl_replay(struct ctl *c);
int ctl_deliver(struct ctl *c);
int ctl_digest(struct ctl *c);
int ctl_digest_args(const struct ctl *c);
int ctl_spool(struct ctl *c);
int ctl_spool_args(const struct ctl *c);
int ctl_message(struct ctl *c);
int ctl_sale(struct ctl *c);
int ctl_reconcile(struct ctl *c);
int ctl_reconcile_args(const struct ctl *c);
int ctl_reassign(struct ctl *c);
int ctl_reassign_args(const struct ctl *c);
int ctl_resend(struct ctl *c);
int ctl_ads(struct ctl *c);
int ctl_ads_args(const struct ctl *c);
int ctl_roi(struct ctl *c);
int ctl_roi_args(const struct ctl *c);

/* Says the command was used wrongly, with its help: returns 2. */
int ctl_usage(const struct ctl *c);

/* Checks that DATABASE_URL is set, for a command that needs it only
 * sometimes: 0, or EX_CONFIG (said on stderr). */
int ctl_require_db(struct ctl *c);

/* The single LEAD_ID operand: 0, or -1 when it is not a deal id. */
int ctl_lead(const struct ctl *c, int64_t *id);

/* ctl_lead as an argument check. */
int ctl_lead_args(const struct ctl *c);

/* The directory of the migrations: --sql-dir, TRAFFIC_SQL_DIR, or the
 * installed one. */
const char *ctl_sql_dir(const char *opt);

/* Prints a result as a table: a header line of its column names, the rows
 * tab separated, "(N rows)". */
struct tr_rows;
void ctl_print_table(struct tr_rows *res, FILE *out);

/* A log sink printing each line on stdout at once. */
void ctl_print_line(void *arg, enum tr_log_level level, const char *line);

#endif
