/*
 * migrate.c: traffic-ctl migrate: the pending migrations of sql/.
 */
#include <stdio.h>

#include "ctl/ctl.h"
#include "libtraffic/migrate.h"

int
ctl_migrate(struct ctl *c)
{
    char msg[1024];

    if (tr_migrate_apply(c->store, ctl_sql_dir(c->opt[0]), stdout, msg,
                         sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl migrate: %s\n", msg);
        return 1;
    }
    return 0;
}
