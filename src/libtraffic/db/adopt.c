/*
 * adopt.c: the old handler's tables compared with ours, and converted.
 */
#include <stdio.h>
#include <string.h>

#include "db/rows.h"
#include "db/adopt.h"
#include "base/buf.h"
#include "db/migrate.h"
#include "sql.h"
#include "db/store.h"

#define SCRIPT_MAX (1024 * 1024)

/* Prints the plan adopt.sql wrote, before its transaction ends. */
static enum tr_err
print_plan(struct tr_store *store, FILE *out, char *msg, size_t msgsz)
{
    struct tr_rows *res;
    int i;

    if ((res = tr_store_query(store, tr_sql_adopt_plan, 0, NULL, msg, msgsz)) ==
        NULL)
        return TR_EDB;
    for (i = 0; i < tr_rows_count(res); i++)
        fprintf(out, "adopt: %s\n", tr_rows_text(res, i, "line"));
    if (tr_rows_count(res) == 0)
        fprintf(out, "adopt: nothing to convert\n");
    tr_rows_free(res);
    return TR_OK;
}

/* The script, its plan, and the end of its transaction. */
static enum tr_err
convert(struct tr_store *store, const char *script, int dry, FILE *out,
        char *msg, size_t msgsz)
{
    enum tr_err err;
    int left;

    if ((err = tr_store_begin(store, msg, msgsz)) != TR_OK)
        return err;
    err = tr_store_script(store, script, "adopt.sql", msg, msgsz);
    if (err == TR_OK)
        err = print_plan(store, out, msg, msgsz);
    if (err == TR_OK &&
        (left = tr_migrate_differences(store, out, msg, msgsz)) != 0)
        err = left < 0 ? TR_EDB
                       : tr_fail(msg, msgsz, TR_EDB,
                                 "%d differences left after adopt.sql (above)",
                                 left);
    if (err == TR_OK && !dry)
        return tr_store_commit(store, msg, msgsz);
    tr_store_rollback(store);
    if (err == TR_OK)
        fprintf(out, "adopt: dry run: rolled back, nothing changed\n");
    return err;
}

enum tr_err
tr_adopt_run(struct tr_store *store, const char *sqldir, int dry, FILE *out,
             char *msg, size_t msgsz)
{
    char path[4096], why[64];
    struct tr_buf script;
    enum tr_err err;

    snprintf(path, sizeof(path), "%s/adopt.sql", sqldir);
    tr_buf_init(&script, SCRIPT_MAX);
    if ((err = tr_buf_read_file(&script, path, msg, msgsz)) != TR_OK ||
        (err = tr_buf_add(&script, "", 1)) != TR_OK) {
        tr_buf_release(&script);
        return err;
    }
    if ((err = tr_store_connect(store, msg, msgsz)) == TR_OK &&
        (err = tr_migrate_session(store, msg, msgsz)) == TR_OK &&
        (err = tr_store_run(store, tr_sql_migrate_quiet, 0, NULL, msg,
                            msgsz)) == TR_OK &&
        (err = tr_store_run(store, tr_sql_migrate_lock, 0, NULL, msg, msgsz)) ==
            TR_OK) {
        /* the lock is the session's: no reconnecting until it is given
         * back */
        tr_store_keep_session(store, 1);
        err = convert(store, script.data, dry, out, msg, msgsz);
        if (tr_store_connected(store))
            tr_store_run(store, tr_sql_migrate_unlock, 0, NULL, why,
                         sizeof(why));
        tr_store_keep_session(store, 0);
    }
    tr_buf_release(&script);
    return err;
}
