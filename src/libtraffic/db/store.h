/*
 * store.h: the PostgreSQL connection (libpq), and every wait on it bounded.
 *
 * One persistent connection per process, opened from DATABASE_URL with TCP
 * keepalives, an application_name and a statement timeout (the URL's own
 * settings win), without blocking, so that a request's deadline bounds the
 * connect too.  A broken connection is replaced on the next statement;
 * after a failure no new connect is tried for TR_STORE_RETRY_MS, so while
 * the database is away every request is spooled at once.
 *
 * Statements are parameterised; those of the sale path are prepared once
 * per session (tr_store_query_prepared), and a transaction pooler that
 * loses them (PgBouncer in transaction mode) gets plain ones from then on.
 * The struct is opaque: the sale transaction (sale.c), the migrations
 * (migrate.c) and every other user go through these calls.
 */
#ifndef TR_STORE_H
#define TR_STORE_H

#include <stddef.h>

#include "base/err.h"

struct tr_rows;
struct tr_store;

#define TR_STORE_RETRY_MS 1000   /* after a failure, no new connect before */
#define TR_STORE_CONNECT_MS 5000 /* a connect without a deadline */

/*
 * A store for url (copied; NULL: every call fails with "DATABASE_URL is not
 * set"); nothing is connected yet.  Statements time out after
 * statement_timeout_ms on the server; with a deadline set, each answer is
 * also awaited at most answer_ms.  NULL without memory; tr_store_free it.
 */
struct tr_store *tr_store_new(const char *url, const char *appname,
                              long statement_timeout_ms, long answer_ms);

/* Closes the connection and frees store (NULL is fine). */
void tr_store_free(struct tr_store *store);

/*
 * Bounds every database wait from now on to ms milliseconds in all (0: no
 * bound): connecting, and each statement's answer.  Out of time, the
 * connection is dropped (TR_EDBDOWN) and, as after any failed connect, no
 * new one is tried for TR_STORE_RETRY_MS.
 */
void tr_store_deadline(struct tr_store *store, long ms);

/*
 * Makes sure the connection is up, reconnecting a broken one.  TR_EDBDOWN
 * with libpq's reason (never the password) in msg.
 */
enum tr_err tr_store_connect(struct tr_store *store, char *msg, size_t msgsz);

/* Whether the connection is up now (after a failed statement: whether it
 * was the statement, not the connection, that failed). */
int tr_store_connected(const struct tr_store *store);

/* Whether the last statement that failed was refused for its data (a
 * constraint, a value out of range): the same statement would fail again. */
int tr_store_refused(const struct tr_store *store);

/* Whether the last statement that failed may have failed for its data
 * (refused, a raise, a program limit, an internal error): not for the
 * connection, a conflict, a timeout, a missing table or right. */
int tr_store_data_suspect(const struct tr_store *store);

/*
 * Whether the connection is open and quiet, without a round trip: an idle
 * session receives nothing, a terminated one its notice and EOF.  1 for
 * open and quiet, 0 for none, or for something to read (then read); it
 * never connects.
 */
int tr_store_alive(struct tr_store *store);

/*
 * Runs one parameterised statement (params as text, NULL for SQL NULL),
 * connecting first unless a transaction or a kept session is open (then
 * the connection must be the same).  Returns the rows (tr_rows_free() them), or
 * NULL with the reason in msg.
 */
struct tr_rows *tr_store_query(struct tr_store *store, const char *sql, int n,
                               const char *const *params, char *msg,
                               size_t msgsz);

/*
 * tr_store_query for a statement run often (sql static, e.g. tr_sql_*):
 * parsed and planned once per session, known by its text's address.
 */
struct tr_rows *tr_store_query_prepared(struct tr_store *store, const char *sql,
                                        int n, const char *const *params,
                                        char *msg, size_t msgsz);

/*
 * The name this session prepared sql under ("tr3") into buf, or NULL when
 * it did not (yet, or plain statements behind a pooler).
 */
const char *tr_store_prepared_as(const struct tr_store *store, const char *sql,
                                 char *buf, size_t bufsz);

/* Whether statements are still prepared (no pooler lost them yet): a
 * transaction in which they were found lost failed, and is worth once more
 * with plain ones. */
int tr_store_preparing(const struct tr_store *store);

/*
 * Whether this session was given synchronous_commit = off (by the server,
 * the database or the role) and so commits with local instead: an
 * answered sale is always on disk (statements/session_commit.sql).
 */
int tr_store_commit_raised(const struct tr_store *store);

/*
 * Parses and plans sql against the live schema without running it (its
 * tables, columns, types, the unique index an ON CONFLICT names): TR_OK,
 * TR_EDB with the server's reason in msg, TR_EDBDOWN.  Rights and row
 * level security are only checked by running a statement.
 */
enum tr_err tr_store_parse(struct tr_store *store, const char *sql, char *msg,
                           size_t msgsz);

/* tr_store_query for a statement whose result is not needed: TR_EDB. */
enum tr_err tr_store_run(struct tr_store *store, const char *sql, int n,
                         const char *const *params, char *msg, size_t msgsz);

/*
 * Opens a transaction (connecting first); until tr_store_commit or
 * tr_store_rollback every statement runs in it, and a connection that
 * breaks is not replaced.  TR_EDB / TR_EDBDOWN.
 */
enum tr_err tr_store_begin(struct tr_store *store, char *msg, size_t msgsz);

/* Commits the transaction tr_store_begin opened.  TR_EDB. */
enum tr_err tr_store_commit(struct tr_store *store, char *msg, size_t msgsz);

/* Rolls it back, when the connection still stands; tr_store_refused and
 * tr_store_data_suspect still say what the failed statement before it was. */
void tr_store_rollback(struct tr_store *store);

/* In a transaction: marks a point to return to (one at a time).  TR_EDB. */
enum tr_err tr_store_savepoint(struct tr_store *store, char *msg, size_t msgsz);

/* Undoes what ran since tr_store_savepoint, keeping the transaction; like
 * tr_store_rollback, it leaves refused and suspect as they were. */
void tr_store_rollback_to(struct tr_store *store);

/*
 * keep 1: every statement from now on must run on this session (a
 * session-level lock is held), as in a transaction; keep 0 ends that.
 */
void tr_store_keep_session(struct tr_store *store, int keep);

/*
 * Runs a script of many statements (a migration) with the simple protocol;
 * what names it in the message.  TR_EDB.
 */
enum tr_err tr_store_script(struct tr_store *store, const char *sql,
                            const char *what, char *msg, size_t msgsz);

#endif
