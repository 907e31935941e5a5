/*
 * purge.c: traffic-ctl purge-lead, the seed's cleanup step: a (test) lead
 * out of every table that holds it, in one statement, saying what went.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "db/rows.h"
#include "ctl/ctl.h"
#include "libtraffic/sql.h"
#include "libtraffic/db/store.h"

int
ctl_purge(struct ctl *c)
{
    char lead[24], msg[512];
    const char *p[1] = {lead};
    int64_t id;
    struct tr_rows *res;
    long n;
    int i;

    ctl_lead(c, &id);
    snprintf(lead, sizeof(lead), "%" PRId64, id);
    if ((res = tr_store_query(c->store, tr_sql_purge_lead, 1, p, msg,
                              sizeof(msg))) == NULL) {
        fprintf(stderr, "traffic-ctl purge-lead: %s\n", msg);
        return 1;
    }
    for (i = 0; i < tr_rows_count(res); i++) {
        n = tr_rows_long(res, i, "removed");
        printf("%s: %ld row%s removed\n", tr_rows_text(res, i, "tbl"), n,
               n == 1 ? "" : "s");
    }
    tr_rows_free(res);
    return 0;
}
