/*
 * rows.h: a statement's rows, the only face of libpq outside db/: read by
 * column name, never by position, so that a SELECT list reordered or a
 * column renamed cannot show one figure in another's place.
 *
 * A name the result does not have is a bug between a statement
 * (statements/ *.sql) and its reader: the value is "" and it is said once
 * on stderr; with TRAFFIC_STRICT_COLUMNS set (the tests set it) the
 * process aborts, so every test that reaches the reader fails.
 */
#ifndef TR_ROWS_H
#define TR_ROWS_H

/* A statement's result (libpq's, held opaque); from tr_store_query. */
struct tr_rows;

/* How many rows. */
int tr_rows_count(const struct tr_rows *rows);

/* The text of column name in row r ("" for SQL NULL). */
const char *tr_rows_text(const struct tr_rows *rows, int r, const char *name);

/* Column name of row r as a long (0 for NULL or not a number). */
long tr_rows_long(const struct tr_rows *rows, int r, const char *name);

/* Whether column name of row r is SQL NULL. */
int tr_rows_null(const struct tr_rows *rows, int r, const char *name);

/* The text of column name in row r, NULL for SQL NULL. */
const char *tr_rows_value(const struct tr_rows *rows, int r, const char *name);

/* How many rows the statement changed (an UPDATE's, a DELETE's). */
long tr_rows_changed(const struct tr_rows *rows);

/*
 * Every column, for a command that prints whatever a statement returns
 * (traffic-ctl logs, sale): how many, the name of column c, and its text
 * in row r ("" for NULL).
 */
int tr_rows_columns(const struct tr_rows *rows);
const char *tr_rows_name(const struct tr_rows *rows, int c);
const char *tr_rows_cell(const struct tr_rows *rows, int r, int c);

/*
 * For a reader that looks its columns up once (the outbox's claims): the
 * number of column name, -1 when the statement has none (not said), and
 * the text of column c in row r, NULL for SQL NULL.
 */
int tr_rows_column(const struct tr_rows *rows, const char *name);
const char *tr_rows_at(const struct tr_rows *rows, int r, int c);

/* Frees rows (NULL is fine). */
void tr_rows_free(struct tr_rows *rows);

#endif
