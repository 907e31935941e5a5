/*
 * migrate.h: the numbered migrations of sql/ ("NNN_name.sql", applied in
 * lexical order, each once, recorded in schema_migrations).  A schema
 * without any of the service's tables takes the squashed baseline
 * ("baseline-NNN.sql", migrations 001 to NNN) instead of those migrations.
 * A line "\ir functions/NAME.sql" of either loads that file: each function's
 * one definition (sql/functions/).
 */
#ifndef TR_MIGRATE_H
#define TR_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

struct tr_store;

/* The newest migration of sql/, which this build's statements need (t/056
 * checks that health says so when it is not applied). */
#define TR_SCHEMA_VERSION "018"

/*
 * Applies the pending migrations of sqldir under an advisory lock (two
 * operators at once wait for each other), each in its own transaction; on
 * a fresh schema the newest baseline first, for the migrations it holds.
 * Writes one line per file applied to out, or that nothing was pending.
 * TR_EIO (the files), TR_EDB / TR_EDBDOWN.
 */
enum tr_err tr_migrate_apply(struct tr_store *store, const char *sqldir,
                             FILE *out, char *msg, size_t msgsz);

/*
 * Writes "  TABLE: what differs" lines to out (NULL: none written) and
 * returns how many, 0 when the tables (if any) are of our shape; -1 with
 * msg when the database failed.
 */
int tr_migrate_differences(struct tr_store *store, FILE *out, char *msg,
                           size_t msgsz);

/*
 * Whether the next statements run in this session (a mark set, then
 * looked for three times), before the migrations' lock is taken.  TR_EDB
 * saying what to do when DATABASE_URL goes through a transaction pooler:
 * the lock would guard nothing and stay with a pooled connection.
 */
enum tr_err tr_migrate_session(struct tr_store *store, char *msg, size_t msgsz);

/* *pending gets how many migrations of sqldir are not applied yet. */
enum tr_err tr_migrate_pending(struct tr_store *store, const char *sqldir,
                               int *pending, char *msg, size_t msgsz);

#endif
