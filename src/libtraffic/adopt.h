/*
 * adopt.h: taking over a database whose tables have our names and another
 * shape (the old Node.js handler's: PREDECESSOR.md).
 *
 * tr_adopt_differences says, table by table, what differs from what
 * migration 001 would make (a missing column, another type, no unique
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

#include "err.h"

struct tr_store;

/*
 * Writes "  TABLE: what differs" lines to out (NULL: none written) and
 * returns how many, 0 when the tables (if any) are of our shape; -1 with
 * msg when the database failed.
 */
int tr_adopt_differences(struct tr_store *store, FILE *out, char *msg,
                         size_t msgsz);

/*
 * Runs sqldir/adopt.sql in one transaction under the migrations' lock,
 * printing its plan ("adopt: ...") to out; commits it unless dry.  A
 * session is needed (the lock): through a transaction pooler it refuses.
 * TR_EIO (the file), TR_EDB / TR_EDBDOWN.
 */
enum tr_err tr_adopt_run(struct tr_store *store, const char *sqldir, int dry,
                         FILE *out, char *msg, size_t msgsz);

#endif
