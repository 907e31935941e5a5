/*
 * sale.c: traffic-ctl sale and reassign: a sale's whole life (its rows,
 * its events, its messages, its log rows), and moving it to another
 * targetologist on purpose.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/rows.h"
#include "ctl/ctl.h"
#include "libtraffic/base/num.h"
#include "libtraffic/sql.h"
#include "libtraffic/db/store.h"

/* Runs a statement of lead id and prints its rows under a heading. */
static int
section(struct ctl *c, const char *heading, const char *sql, int nparams,
        const char *const *p)
{
    char msg[512];
    struct tr_rows *res =
        tr_store_query(c->store, sql, nparams, p, msg, sizeof(msg));

    if (res == NULL) {
        fprintf(stderr, "traffic-ctl %s: %s\n", c->cmd->name, msg);
        return 1;
    }
    printf("%s\n", heading);
    ctl_print_table(res, stdout);
    tr_rows_free(res);
    return 0;
}

int
ctl_sale(struct ctl *c)
{
    char lead[24], msg[512], limit[] = "50";
    const char *p[4] = {lead, NULL, NULL, NULL};
    const char *logs[4] = {limit, NULL, lead, NULL};
    struct tr_rows *res;
    int64_t id;
    int i, rc;

    ctl_lead(c, &id);
    snprintf(lead, sizeof(lead), "%" PRId64, id);
    if ((res = tr_store_query(c->store, tr_sql_sale_show, 1, p, msg,
                              sizeof(msg))) == NULL) {
        fprintf(stderr, "traffic-ctl sale: %s\n", msg);
        return 1;
    }
    if (tr_rows_count(res) != 1) {
        tr_rows_free(res);
        fprintf(stderr, "traffic-ctl sale: no sale for lead %s\n", lead);
        return 1;
    }
    printf("sale of lead %s\n", lead);
    for (i = 1; i < tr_rows_columns(res); i++)
        printf("  %-20s %s\n", tr_rows_name(res, i), tr_rows_cell(res, 0, i));
    tr_rows_free(res);
    rc = section(c, "events", tr_sql_sale_history, 1, p);
    rc |= section(c, "messages", tr_sql_sale_messages, 1, p);
    rc |= section(c, "webhook_logs", tr_sql_logs_print, 4, logs);
    return rc;
}

int
ctl_reassign_args(const struct ctl *c)
{
    int64_t id;

    return c->noperands == 2 && tr_parse_id(c->operand[0], &id) == 0 ? 0 : -1;
}

int
ctl_reassign(struct ctl *c)
{
    const struct tr_rule *rule = tr_rules_find(&c->rules, c->operand[1]);
    char lead[24], msg[512];
    const char *p[3];
    struct tr_rows *res;
    int rc = 0;

    if (rule == NULL) {
        fprintf(stderr,
                "traffic-ctl reassign: no targetologist \"%s\" in the "
                "rules\n",
                c->operand[1]);
        return 1;
    }
    snprintf(lead, sizeof(lead), "%s", c->operand[0]);
    p[0] = lead;
    p[1] = rule->name;
    p[2] = rule->emoji;
    if ((res = tr_store_query(c->store, tr_sql_sale_reassign, 3, p, msg,
                              sizeof(msg))) == NULL) {
        fprintf(stderr, "traffic-ctl reassign: %s\n", msg);
        return 1;
    }
    if (tr_rows_count(res) != 1) {
        fprintf(stderr, "traffic-ctl reassign: no sale for lead %s\n", lead);
        rc = 1;
    } else if (strcmp(tr_rows_text(res, 0, "changed"), "0") == 0) {
        printf("reassign: lead %s is %s already\n", lead, rule->name);
    } else {
        printf("reassign: lead %s: %s -> %s, %s message%s to edit (the "
               "sidecar sends them)\n",
               lead, tr_rows_text(res, 0, "targetologist"), rule->name,
               tr_rows_text(res, 0, "edits"),
               strcmp(tr_rows_text(res, 0, "edits"), "1") == 0 ? "" : "s");
    }
    tr_rows_free(res);
    return rc;
}
