/*
 * migrate.c: traffic-ctl migrate: the pending migrations of sql/; and
 * traffic-ctl adopt: the old handler's tables taken over first.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "libtraffic/db/adopt.h"
#include "libtraffic/db/migrate.h"
#include "libtraffic/db/store.h"
#include "libtraffic/base/text.h"

int
ctl_migrate(struct ctl *c)
{
    char msg[1024];

    if (tr_migrate_apply(c->store, ctl_sql_dir(c->opt[0]), stdout, msg,
                         sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl migrate: %s\n", msg);
        /* PostgreSQL 15: only the database's owner creates in public */
        if (strstr(msg, "permission denied for schema public") != NULL)
            fprintf(stderr,
                    "traffic-ctl migrate: the role of DATABASE_URL may not "
                    "create tables in the public schema: make it the "
                    "database's owner (createdb -O ROLE), or as the owner: "
                    "GRANT CREATE ON SCHEMA public TO ROLE;\n");
        return 1;
    }
    return 0;
}

int
ctl_adopt(struct ctl *c)
{
    const char *dir = ctl_sql_dir(c->opt[0]);
    int dry = c->opt[1] != NULL, n;
    struct timespec t0, t1;
    char msg[1024];

    if (tr_store_connect(c->store, msg, sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl adopt: %s\n", msg);
        return 1;
    }
    if ((n = tr_migrate_differences(c->store, NULL, msg, sizeof(msg))) < 0) {
        fprintf(stderr, "traffic-ctl adopt: %s\n", msg);
        return 1;
    }
    if (n > 0) {
        printf("what differs from this service's shape:\n");
        tr_migrate_differences(c->store, stdout, msg, sizeof(msg));
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (tr_adopt_run(c->store, dir, dry, stdout, msg, sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl adopt: %s\n", msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (dry) {
        printf("adopt: dry run in %ld ms; traffic-ctl adopt does it\n",
               tr_ms_since(&t0, &t1));
        return 0;
    }
    printf("adopt: done in %ld ms; every row removed is in adopt_quarantine "
           "with its reason\n",
           tr_ms_since(&t0, &t1));
    return ctl_migrate(c);
}
