/*
 * adopt.h: taking over a database whose tables have our names and another
 * shape (the old Node.js handler's: PREDECESSOR.md).
 *
 * tr_migrate_differences (migrate.h) says, table by table, what differs from
 * what migration 001 would make (a missing column, another type, no unique
 * index on lead_id, leads stored twice, values outside our statuses);
 * traffic-ctl migrate stops on any of them before changing anything.
 * tr_adopt_run converts such tables in place with sql/adopt.sql, in one
 * transaction under the migrations' lock (a dry run rolls it back), and
 * prints what each step did; nothing is lost: a row that cannot stay (a
 * second row of a lead, a lead id that is not a number) moves to
 * adopt_quarantine with the reason.
 */
#ifndef TR_ADOPT_H
#define TR_ADOPT_H

#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

struct tr_store;

/*
 * Runs sqldir/adopt.sql in one transaction under the migrations' lock,
 * printing its plan ("adopt: ...") to out; commits it unless dry.  A
 * session is needed (the lock): through a transaction pooler it refuses.
 * TR_EIO (the file), TR_EDB / TR_EDBDOWN.
 */
enum tr_err tr_adopt_run(struct tr_store *store, const char *sqldir, int dry,
                         FILE *out, char *msg, size_t msgsz);

#endif
