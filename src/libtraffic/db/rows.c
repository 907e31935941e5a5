/*
 * rows.c: a statement's rows by column name (rows.h), over libpq's
 * PGresult.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "db/rows.h"

#define PG(rows) ((const PGresult *)(const void *)(rows))

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

int
tr_rows_count(const struct tr_rows *rows)
{
    return rows != NULL ? PQntuples(PG(rows)) : 0;
}

const char *
tr_rows_value(const struct tr_rows *rows, int r, const char *name)
{
    const PGresult *res = PG(rows);
    int c = column(res, name);

    if (c < 0 || r < 0 || r >= PQntuples(res) || PQgetisnull(res, r, c))
        return NULL;
    return PQgetvalue(res, r, c);
}

const char *
tr_rows_text(const struct tr_rows *rows, int r, const char *name)
{
    const char *v = tr_rows_value(rows, r, name);

    return v != NULL ? v : "";
}

long
tr_rows_long(const struct tr_rows *rows, int r, const char *name)
{
    return strtol(tr_rows_text(rows, r, name), NULL, 10);
}

int
tr_rows_null(const struct tr_rows *rows, int r, const char *name)
{
    return tr_rows_value(rows, r, name) == NULL;
}

long
tr_rows_changed(const struct tr_rows *rows)
{
    return strtol(PQcmdTuples((PGresult *)(void *)rows), NULL, 10);
}

int
tr_rows_columns(const struct tr_rows *rows)
{
    return PQnfields(PG(rows));
}

const char *
tr_rows_name(const struct tr_rows *rows, int c)
{
    const char *name = PQfname(PG(rows), c);

    return name != NULL ? name : "";
}

const char *
tr_rows_cell(const struct tr_rows *rows, int r, int c)
{
    return PQgetvalue(PG(rows), r, c);
}

int
tr_rows_column(const struct tr_rows *rows, const char *name)
{
    return PQfnumber(PG(rows), name);
}

const char *
tr_rows_at(const struct tr_rows *rows, int r, int c)
{
    const PGresult *res = PG(rows);

    if (c < 0 || r < 0 || r >= PQntuples(res) || PQgetisnull(res, r, c))
        return NULL;
    return PQgetvalue(res, r, c);
}

void
tr_rows_free(struct tr_rows *rows)
{
    PQclear((PGresult *)(void *)rows);
}
