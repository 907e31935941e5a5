/*
 * logs.c: traffic-ctl logs: webhook_logs as the seed's debugging query
 * shows them, newest first, tab separated.
 */
#include <inttypes.h>
#include <stdio.h>

#include "db/rows.h"
#include "ctl/ctl.h"
#include "libtraffic/base/num.h"
#include "libtraffic/sql.h"
#include "libtraffic/db/store.h"

#define LOGS_DEFAULT 20
#define LOGS_MAX 1000

void
ctl_print_table(struct tr_rows *res, FILE *out)
{
    int i, j, nf = tr_rows_columns(res);

    for (j = 0; j < nf; j++)
        fprintf(out, "%s%s", j ? "\t" : "", tr_rows_name(res, j));
    fputc('\n', out);
    for (i = 0; i < tr_rows_count(res); i++) {
        for (j = 0; j < nf; j++)
            fprintf(out, "%s%s", j ? "\t" : "", tr_rows_cell(res, i, j));
        fputc('\n', out);
    }
    fprintf(out, "(%d rows)\n", tr_rows_count(res));
}

/* --limit N, --status S, --lead ID, --source S: the numbers into *limit
 * and *lead; -1 when one is not a number. */
static int
numbers(const struct ctl *c, int64_t *limit, int64_t *lead)
{
    *limit = LOGS_DEFAULT;
    *lead = 0;
    if (c->opt[0] != NULL &&
        (tr_parse_id(c->opt[0], limit) != 0 || *limit > LOGS_MAX))
        return -1;
    if (c->opt[2] != NULL && tr_parse_id(c->opt[2], lead) != 0)
        return -1;
    return 0;
}

int
ctl_logs_args(const struct ctl *c)
{
    int64_t limit, lead;

    return numbers(c, &limit, &lead);
}

int
ctl_logs(struct ctl *c)
{
    char limit[24], lead[24], msg[512];
    const char *p[4];
    int64_t v, id;
    struct tr_rows *res;

    numbers(c, &v, &id);
    snprintf(limit, sizeof(limit), "%" PRId64, v);
    snprintf(lead, sizeof(lead), "%" PRId64, id);
    p[0] = limit;
    p[1] = c->opt[1];
    p[2] = id ? lead : NULL;
    p[3] = c->opt[3];
    if ((res = tr_store_query(c->store, tr_sql_logs_print, 4, p, msg,
                              sizeof(msg))) == NULL) {
        fprintf(stderr, "traffic-ctl logs: %s\n", msg);
        return 1;
    }
    ctl_print_table(res, stdout);
    tr_rows_free(res);
    return 0;
}
