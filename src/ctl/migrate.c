/*
 * migrate.c: traffic-ctl migrate: the pending migrations of sql/.
 */
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"
#include "libtraffic/migrate.h"

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
