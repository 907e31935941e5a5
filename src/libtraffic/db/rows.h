/*
 * rows.h: reading a statement's rows by column name, never by position,
 * so that a SELECT list reordered or a column renamed cannot show one
 * figure in another's place.
 *
 * A name the result does not have is a bug between a statement
 * (statements/ *.sql) and its reader: the value is "" and it is said once
 * on stderr; with TRAFFIC_STRICT_COLUMNS set (the tests set it) the
 * process aborts, so every test that reaches the reader fails.
 */
#ifndef TR_ROWS_H
#define TR_ROWS_H

struct pg_result;

/* The text of column name in row r ("" for SQL NULL). */
const char *tr_rows_text(const struct pg_result *res, int r, const char *name);

/* Column name of row r as a long (0 for NULL or not a number). */
long tr_rows_long(const struct pg_result *res, int r, const char *name);

/* Whether column name of row r is SQL NULL. */
int tr_rows_null(const struct pg_result *res, int r, const char *name);

#endif
