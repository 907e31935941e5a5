/*
 * rows.c: a statement's rows by column name (rows.h).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "db/rows.h"

/* The column of name, or -1 (said; fatal in strict mode). */
static int
column(const PGresult *res, const char *name)
{
    int c = PQfnumber(res, name);

    if (c >= 0)
        return c;
    fprintf(stderr, "traffic-webhook: bug: a statement has no column \"%s\"\n",
            name);
    if (getenv("TRAFFIC_STRICT_COLUMNS") != NULL)
        abort();
    return -1;
}

const char *
tr_rows_text(const struct pg_result *res, int r, const char *name)
{
    int c = column(res, name);

    if (c < 0 || r < 0 || r >= PQntuples(res))
        return "";
    return PQgetvalue(res, r, c);
}

long
tr_rows_long(const struct pg_result *res, int r, const char *name)
{
    return strtol(tr_rows_text(res, r, name), NULL, 10);
}

int
tr_rows_null(const struct pg_result *res, int r, const char *name)
{
    int c = column(res, name);

    return c < 0 || r < 0 || r >= PQntuples(res) || PQgetisnull(res, r, c);
}
