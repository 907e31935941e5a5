/*
 * prune.c: traffic-ctl prune: webhook_logs older than an age; the sales
 * stay.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "libtraffic/leads.h"
#include "libtraffic/sql.h"
#include "libtraffic/store.h"

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
        n++; /* no unit: seconds */
    }
    memcpy(num, s, n - 1);
    num[n - 1] = '\0';
    if (tr_parse_id(num, &v) != 0 || v > 100LL * 365 * 86400 / mult)
        return -1;
    return v * mult;
}

int
ctl_prune_args(const struct ctl *c)
{
    return c->opt[0] != NULL && parse_age(c->opt[0]) >= 0 ? 0 : -1;
}

int
ctl_prune(struct ctl *c)
{
    long long age = parse_age(c->opt[0]);
    char secs[24], msg[512];
    const char *p[1] = {secs};
    PGresult *res;
    long removed;

    snprintf(secs, sizeof(secs), "%lld", age);
    if ((res = tr_store_query(c->store, tr_sql_prune_logs, 1, p, msg,
                              sizeof(msg))) == NULL) {
        fprintf(stderr, "traffic-ctl prune: %s\n", msg);
        return 1;
    }
    removed = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    printf("webhook_logs: %ld row%s older than %lld s removed\n", removed,
           removed == 1 ? "" : "s", age);
    return 0;
}
