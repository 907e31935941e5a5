/*
 * migrate.c: listing, checking and applying the migrations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/rows.h"
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
    struct tr_rows *res =
        tr_store_query(store, sql, param ? 1 : 0, p, msg, msgsz);
    int v;

    if (res == NULL)
        return -1;
    v = tr_rows_count(res) == 1 &&
        strcmp(tr_rows_text(res, 0, "yes"), "t") == 0;
    tr_rows_free(res);
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

/*
 * Appends the file an "\ir functions/NAME.sql" line names (psql's include,
 * relative to dir): the current definition of a function, kept in one file
 * that every migration changing it, and the baseline, load.
 */
static enum tr_err
include(struct tr_buf *sql, const char *dir, const char *from, const char *arg,
        size_t n, char *msg, size_t msgsz)
{
    char rel[256], path[4096];
    enum tr_err err;

    while (n > 0 && strchr(" \t\r\n", arg[n - 1]) != NULL)
        n--;
    if (n < 15 || n >= sizeof(rel) || strncmp(arg, "functions/", 10) != 0 ||
        strspn(arg + 10, "abcdefghijklmnopqrstuvwxyz0123456789_.") < n - 10 ||
        strncmp(arg + n - 4, ".sql", 4) != 0)
        return tr_fail(msg, msgsz, TR_EIO,
                       "%s: \\ir names a file of functions/ (\"%.*s\")", from,
                       (int)(n < 64 ? n : 64), arg);
    memcpy(rel, arg, n);
    rel[n] = '\0';
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    if ((err = tr_buf_read_file(sql, path, msg, msgsz)) == TR_OK &&
        sql->len > 0 && sql->data[sql->len - 1] != '\n')
        err = tr_buf_adds(sql, "\n");
    return err;
}

/* Reads the script dir/name into sql, its \ir lines replaced by their files
 * (psql -f runs the same script). */
static enum tr_err
read_script(struct tr_buf *sql, const char *dir, const char *name, char *msg,
            size_t msgsz)
{
    char path[4096];
    struct tr_buf raw;
    const char *line, *end;
    enum tr_err err;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    tr_buf_init(&raw, MIGRATION_MAX);
    err = tr_buf_read_file(&raw, path, msg, msgsz);
    for (line = raw.data; err == TR_OK && line != NULL && *line != '\0';
         line = end) {
        end = strchr(line, '\n');
        end = end != NULL ? end + 1 : line + strlen(line);
        if (strncmp(line, "\\ir ", 4) == 0)
            err = include(sql, dir, name, line + 4, (size_t)(end - line - 4),
                          msg, msgsz);
        else
            err = tr_buf_add(sql, line, (size_t)(end - line));
    }
    tr_buf_release(&raw);
    return err;
}

/* Records migration version "NNN" of name. */
static enum tr_err
record(struct tr_store *store, const char *name, char *msg, size_t msgsz)
{
    char version[4];
    const char *p[1] = {version};

    memcpy(version, name, 3);
    version[3] = '\0';
    return tr_store_run(store, tr_sql_migrate_record, 1, p, msg, msgsz);
}

/*
 * Runs the script dir/name and records the migrations of names[0..n), in
 * one transaction: one migration, or the baseline and those it stands for.
 */
static enum tr_err
apply_one(struct tr_store *store, const char *dir, const char *name,
          char *const *names, size_t n, char *msg, size_t msgsz)
{
    struct tr_buf sql;
    enum tr_err err;
    size_t i;

    tr_buf_init(&sql, MIGRATION_MAX);
    if ((err = read_script(&sql, dir, name, msg, msgsz)) != TR_OK) {
        tr_buf_release(&sql);
        return err;
    }
    err = tr_store_begin(store, msg, msgsz);
    if (err == TR_OK)
        err =
            tr_store_script(store, sql.data ? sql.data : "", name, msg, msgsz);
    for (i = 0; i < n && err == TR_OK; i++)
        err = record(store, names[i], msg, msgsz);
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
    struct tr_rows *res;
    int i, n;

    if ((res = tr_store_query(store, tr_sql_adopt_check, 0, NULL, msg,
                              msgsz)) == NULL)
        return -1;
    n = tr_rows_count(res);
    for (i = 0; out != NULL && i < n; i++)
        fprintf(out, "  %s: %s\n", tr_rows_text(res, i, "tbl"),
                tr_rows_text(res, i, "problem"));
    tr_rows_free(res);
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

static int
is_baseline(const char *name)
{
    return strlen(name) == 16 && strncmp(name, "baseline-", 9) == 0 &&
           strspn(name + 9, "0123456789") == 3 &&
           strcmp(name + 12, ".sql") == 0;
}

/*
 * A schema without any of the service's tables gets the newest
 * baseline-NNN.sql of dir (migrations 001 to NNN squashed) and those
 * migrations recorded, in one transaction; *done counts it.  Any other
 * schema, or a dir without a baseline, is left to the migrations.
 */
static enum tr_err
baseline(struct tr_store *store, const char *dir,
         const struct tr_dir_list *files, FILE *out, size_t *done, char *msg,
         size_t msgsz)
{
    struct tr_dir_list bases;
    const char *base;
    enum tr_err err;
    size_t n = 0;
    int fresh = 0;

    err = tr_dir_list(&bases, dir, is_baseline, 0, msg, msgsz);
    if (err == TR_OK && bases.n > 0 &&
        (fresh = yes(store, tr_sql_migrate_fresh, NULL, msg, msgsz)) < 0)
        err = TR_EDB;
    if (err == TR_OK && fresh > 0) {
        base = bases.names[bases.n - 1];
        while (n < files->n && strncmp(files->names[n], base + 9, 3) <= 0)
            n++;
        if (n > 0 && (err = apply_one(store, dir, base, files->names, n, msg,
                                      msgsz)) == TR_OK) {
            fprintf(out, "applied %s (migrations %.3s to %.3s)\n", base,
                    files->names[0], files->names[n - 1]);
            (*done)++;
        }
    }
    tr_dir_list_release(&bases);
    return err;
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
    if (err == TR_OK)
        err = baseline(store, sqldir, &files, out, &done, msg, msgsz);
    for (i = 0; i < files.n && err == TR_OK; i++) {
        if ((a = applied(store, files.names[i], msg, msgsz)) < 0)
            err = TR_EDB;
        else if (a == 0 &&
                 (err = apply_one(store, sqldir, files.names[i],
                                  files.names + i, 1, msg, msgsz)) == TR_OK) {
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
