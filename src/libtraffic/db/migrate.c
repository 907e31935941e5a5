/*
 * migrate.c: listing, checking and applying the migrations.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/dir.h"
#include "db/migrate.h"
#include "sql.h"
#include "db/store.h"

#define MIGRATION_MAX (1024 * 1024)

static int
is_migration(const char *name)
{
    size_t len = strlen(name);

    return len >= 9 && strspn(name, "0123456789") == 3 && name[3] == '_' &&
           strcmp(name + len - 4, ".sql") == 0;
}

/* The sorted "NNN_*.sql" names of dir, of which there must be one. */
static enum tr_err
list_migrations(struct tr_dir_list *files, const char *dir, char *msg,
                size_t msgsz)
{
    enum tr_err err = tr_dir_list(files, dir, is_migration, 0, msg, msgsz);

    if (err == TR_OK && files->n == 0)
        err =
            tr_fail(msg, msgsz, TR_EIO, "no NNN_name.sql files in \"%s\"", dir);
    return err;
}

/* Runs a statement answering one boolean: 1, 0, or -1 on error. */
static int
yes(struct tr_store *store, const char *sql, const char *param, char *msg,
    size_t msgsz)
{
    const char *p[1] = {param};
    PGresult *res = tr_store_query(store, sql, param ? 1 : 0, p, msg, msgsz);
    int v;

    if (res == NULL)
        return -1;
    v = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return v;
}

/* Whether the migration named name is recorded; -1 on error. */
static int
applied(struct tr_store *store, const char *name, char *msg, size_t msgsz)
{
    char version[4];
    int started;

    memcpy(version, name, 3);
    version[3] = '\0';
    if ((started = yes(store, tr_sql_migrate_started, NULL, msg, msgsz)) <= 0)
        return started;
    return yes(store, tr_sql_migrate_applied, version, msg, msgsz);
}

enum tr_err
tr_migrate_pending(struct tr_store *store, const char *sqldir, int *pending,
                   char *msg, size_t msgsz)
{
    struct tr_dir_list files;
    enum tr_err err;
    size_t i;
    int a;

    *pending = 0;
    if ((err = tr_store_connect(store, msg, msgsz)) != TR_OK)
        return err;
    if ((err = list_migrations(&files, sqldir, msg, msgsz)) == TR_OK) {
        for (i = 0; i < files.n && err == TR_OK; i++) {
            if ((a = applied(store, files.names[i], msg, msgsz)) < 0)
                err = TR_EDB;
            *pending += a == 0;
        }
    }
    tr_dir_list_release(&files);
    return err;
}

/* Applies one migration file and records it, in one transaction. */
static enum tr_err
apply_one(struct tr_store *store, const char *dir, const char *name, char *msg,
          size_t msgsz)
{
    char path[4096], version[4];
    const char *p[1] = {version};
    struct tr_buf sql;
    enum tr_err err;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    memcpy(version, name, 3);
    version[3] = '\0';
    tr_buf_init(&sql, MIGRATION_MAX);
    if ((err = tr_buf_read_file(&sql, path, msg, msgsz)) != TR_OK) {
        tr_buf_release(&sql);
        return err;
    }
    err = tr_store_begin(store, msg, msgsz);
    if (err == TR_OK)
        err =
            tr_store_script(store, sql.data ? sql.data : "", name, msg, msgsz);
    if (err == TR_OK)
        err = tr_store_run(store, tr_sql_migrate_record, 1, p, msg, msgsz);
    if (err == TR_OK)
        err = tr_store_commit(store, msg, msgsz);
    tr_store_rollback(store);
    tr_buf_release(&sql);
    return err;
}

enum tr_err
tr_migrate_session(struct tr_store *store, char *msg, size_t msgsz)
{
    char mark[48];
    const char *p[1] = {mark};
    struct timespec now;
    int k, same;

    /* a mark, not the lock: a lock taken through a transaction pooler
     * would stay with a server connection we never see again */
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(mark, sizeof(mark), "%ld.%ld.%ld", (long)getpid(),
             (long)now.tv_sec, now.tv_nsec);
    if (tr_store_run(store, tr_sql_migrate_session, 1, p, msg, msgsz) != TR_OK)
        return TR_EDB;
    /* three statements, three chances for a pooler to move us */
    for (k = 0; k < 3; k++) {
        if ((same = yes(store, tr_sql_migrate_marked, mark, msg, msgsz)) < 0)
            return TR_EDB;
        if (!same)
            return tr_fail(msg, msgsz, TR_EDB,
                           "the next statement ran in another session: "
                           "DATABASE_URL goes through a transaction pooler "
                           "(PgBouncer in transaction mode, Supabase's port "
                           "6543).  Migrations and adoption need a session "
                           "of their own (their lock): run them with the "
                           "database's direct port (5432) or the pooler's "
                           "session port");
    }
    return TR_OK;
}

int
tr_migrate_differences(struct tr_store *store, FILE *out, char *msg,
                       size_t msgsz)
{
    PGresult *res;
    int i, n;

    if ((res = tr_store_query(store, tr_sql_adopt_check, 0, NULL, msg,
                              msgsz)) == NULL)
        return -1;
    n = PQntuples(res);
    for (i = 0; out != NULL && i < n; i++)
        fprintf(out, "  %s: %s\n", PQgetvalue(res, i, 0),
                PQgetvalue(res, i, 1));
    PQclear(res);
    return n;
}

/*
 * Before the first migration: tables of our names and another shape (the
 * old handler's) are said, and nothing is changed.
 */
static enum tr_err
foreign(struct tr_store *store, const char *first, FILE *out, char *msg,
        size_t msgsz)
{
    int a, n;

    if ((a = applied(store, first, msg, msgsz)) != 0)
        return a < 0 ? TR_EDB : TR_OK;
    if ((n = tr_migrate_differences(store, NULL, msg, msgsz)) <= 0)
        return n < 0 ? TR_EDB : TR_OK;
    fprintf(out, "these tables are not of this service's shape:\n");
    tr_migrate_differences(store, out, msg, msgsz);
    return tr_fail(msg, msgsz, TR_EDB,
                   "the database has tables of another shape (above: the old "
                   "handler's?); nothing was changed.  traffic-ctl adopt "
                   "--dry-run says how it takes them over, traffic-ctl adopt "
                   "does it (then migrate goes on)");
}

enum tr_err
tr_migrate_apply(struct tr_store *store, const char *sqldir, FILE *out,
                 char *msg, size_t msgsz)
{
    struct tr_dir_list files;
    size_t i, done = 0;
    enum tr_err err;
    int a;

    if ((err = tr_store_connect(store, msg, msgsz)) != TR_OK)
        return err;
    if ((err = list_migrations(&files, sqldir, msg, msgsz)) != TR_OK ||
        (err = tr_migrate_session(store, msg, msgsz)) != TR_OK ||
        (err = tr_store_run(store, tr_sql_migrate_quiet, 0, NULL, msg,
                            msgsz)) != TR_OK ||
        (err = tr_store_run(store, tr_sql_migrate_lock, 0, NULL, msg, msgsz)) !=
            TR_OK) {
        tr_dir_list_release(&files);
        return err;
    }
    /* the lock is the session's: no reconnecting until it is given back */
    tr_store_keep_session(store, 1);
    err = foreign(store, files.names[0], out, msg, msgsz);
    for (i = 0; i < files.n && err == TR_OK; i++) {
        if ((a = applied(store, files.names[i], msg, msgsz)) < 0)
            err = TR_EDB;
        else if (a == 0 && (err = apply_one(store, sqldir, files.names[i], msg,
                                            msgsz)) == TR_OK) {
            fprintf(out, "applied %s\n", files.names[i]);
            done++;
        }
    }
    if (tr_store_connected(store)) {
        char why[64];

        tr_store_run(store, tr_sql_migrate_unlock, 0, NULL, why, sizeof(why));
    }
    tr_store_keep_session(store, 0);
    if (err == TR_OK && done == 0)
        fprintf(out, "schema is up to date (%zu migrations)\n", files.n);
    tr_dir_list_release(&files);
    return err;
}
