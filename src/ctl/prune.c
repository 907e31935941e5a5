/*
 * prune.c: traffic-ctl prune: webhook_logs older than an age; the sales
 * stay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/rows.h"
#include "ctl/ctl.h"
#include "libtraffic/base/text.h"
#include "libtraffic/sql.h"
#include "libtraffic/db/store.h"

int
ctl_prune_args(const struct ctl *c)
{
    return c->opt[0] != NULL && tr_text_parse_age(c->opt[0]) >= 0 ? 0 : -1;
}

int
ctl_prune(struct ctl *c)
{
    long long age = tr_text_parse_age(c->opt[0]);
    char secs[24], msg[512];
    const char *p[1] = {secs};
    struct tr_rows *res;
    long removed;

    snprintf(secs, sizeof(secs), "%lld", age);
    if ((res = tr_store_query(c->store, tr_sql_prune_logs, 1, p, msg,
                              sizeof(msg))) == NULL) {
        fprintf(stderr, "traffic-ctl prune: %s\n", msg);
        return 1;
    }
    removed = tr_rows_changed(res);
    tr_rows_free(res);
    printf("webhook_logs: %ld row%s older than %lld s removed\n", removed,
           removed == 1 ? "" : "s", age);
    return 0;
}
