/*
 * test-sql.c: every statement the service sends (the tr_sql_* strings
 * built from the files of src/libtraffic/sql) prepares against the migrated
 * schema of DATABASE_URL, the way the service prepares them (no parameter
 * types given), so a renamed column fails here and not in a sale.  The
 * statements that claim messages also return every claim column, and a
 * stored sale's view every column of the message.
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "libtraffic/db/rows.h"
#include "libtraffic/outgoing/outbox.h"
#include "sql.h"
#include "tap.h"

static const char *const claiming[] = {"claim_due", "claim_own", NULL};

static int
listed(const char *name, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(name, *list) == 0)
            return 1;
    return 0;
}

/*
 * Every column a statement returns has a name of its own, for rows.h's
 * readers: no "?column?", no two alike (a reader would take the first).
 */
static void
check_names(PGconn *conn, const char *name)
{
    PGresult *d = PQdescribePrepared(conn, "");
    int i, j, n = PQnfields(d), bad = 0;

    for (i = 0; i < n && !bad; i++) {
        bad = strcmp(PQfname(d, i), "?column?") == 0;
        for (j = 0; j < i && !bad; j++)
            bad = strcmp(PQfname(d, i), PQfname(d, j)) == 0;
    }
    ok(!bad, "%s names each of its %d columns once%s%s", name, n,
       bad ? ": not " : "", bad ? PQfname(d, i - 1) : "");
    PQclear(d);
}

/* The columns a statement must return: 0 when it has them all. */
static void
check_columns(PGconn *conn, const char *name)
{
    PGresult *d = PQdescribePrepared(conn, "");
    char msg[256] = "";
    enum tr_err err = TR_OK;

    /* rows.h's rows are libpq's result */
    const struct tr_rows *rows = (const struct tr_rows *)(void *)d;

    if (listed(name, claiming))
        err = tr_claims_check(rows, msg, sizeof(msg));
    else if (strcmp(name, "sale_view") == 0)
        err = tr_outbox_check_view(rows, msg, sizeof(msg));
    else {
        PQclear(d);
        return;
    }
    ok(err == TR_OK, "%s returns the columns its reader takes%s%s", name,
       msg[0] ? ": " : "", msg);
    PQclear(d);
}

int
main(void)
{
    const char *url = getenv("DATABASE_URL");
    const struct tr_sql_statement *s;
    PGconn *conn;
    PGresult *r;
    int n = 0;

    conn = PQconnectdb(url ? url : "");
    ok(PQstatus(conn) == CONNECTION_OK, "connected to DATABASE_URL");
    if (PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        return done_testing();
    }
    for (s = tr_sql_all; s->name != NULL; s++, n++) {
        r = PQprepare(conn, "", s->text, 0, NULL);
        ok(PQresultStatus(r) == PGRES_COMMAND_OK, "%s prepares%s%s", s->name,
           PQresultStatus(r) == PGRES_COMMAND_OK ? "" : ": ",
           PQresultStatus(r) == PGRES_COMMAND_OK ? "" : PQerrorMessage(conn));
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            check_names(conn, s->name);
            check_columns(conn, s->name);
        }
        PQclear(r);
    }
    ok(n >= 30, "every statement tried (%d)", n);
    PQfinish(conn);
    return done_testing();
}
