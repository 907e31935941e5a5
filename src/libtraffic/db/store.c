/*
 * store.c: the connection, its deadlines, prepared statements and the
 * pooler fallback, transactions.  A result leaves as rows.h's rows.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sql.h"
#include "db/rows.h"
#include "db/store.h"
#include "base/text.h"

#define PREPARED_MAX 32

struct tr_store {
    PGconn *conn; /* NULL until connected */
    char *url;    /* owned */
    char appname[64];
    long statement_timeout_ms;
    long answer_ms;                     /* with a deadline: one answer's wait */
    const char *prepared[PREPARED_MAX]; /* this session's, by text */
    size_t nprepared;
    int unprepared;             /* a pooler loses them: never prepare */
    int no_options;             /* a pooler refuses the "options" parameter */
    int commit_raised;          /* the session had synchronous_commit off */
    int in_tx;                  /* tr_store_begin ... commit / rollback */
    int kept;                   /* tr_store_keep_session */
    struct timespec deadline;   /* tr_store_deadline (monotonic); 0: none */
    struct timespec down_until; /* failed: no new connect before this */
    char down_reason[256];
    int refused; /* the last statement failed: its data can never be stored */
    int suspect; /* or its data may be the cause (data_suspect) */
};

/*
 * Whether a failure of this SQLSTATE may come from the statement's data:
 * not the connection (08), a conflict (40), the schema or rights (42),
 * resources (53), a lock or state (55), a timeout or shutdown (57), the
 * system (58), the transaction (25).  Left: a raise of a function (P0),
 * a program limit (54), an internal error (XX), and the like.
 */
static int
data_suspect(const char *state)
{
    static const char *const not_data[] = {"08", "25", "40", "42",
                                           "53", "55", "57", "58"};
    size_t i;

    if (state == NULL || strlen(state) != 5)
        return 0;
    for (i = 0; i < sizeof(not_data) / sizeof(not_data[0]); i++)
        if (strncmp(state, not_data[i], 2) == 0)
            return 0;
    return 1;
}

struct tr_store *
tr_store_new(const char *url, const char *appname, long statement_timeout_ms,
             long answer_ms)
{
    struct tr_store *store = calloc(1, sizeof(*store));

    if (store == NULL)
        return NULL;
    store->statement_timeout_ms = statement_timeout_ms;
    store->answer_ms = answer_ms;
    snprintf(store->appname, sizeof(store->appname), "%s", appname);
    if (url != NULL && (store->url = strdup(url)) == NULL) {
        free(store);
        return NULL;
    }
    return store;
}

void
tr_store_free(struct tr_store *store)
{
    if (store == NULL)
        return;
    if (store->conn != NULL)
        PQfinish(store->conn);
    free(store->url);
    free(store);
}

/* libpq's message, on one line. */
static void
pq_reason(PGconn *conn, char *msg, size_t msgsz, const char *what)
{
    const char *e = conn ? PQerrorMessage(conn) : "out of memory";
    size_t i, n;

    n = (size_t)snprintf(msg, msgsz, "%s: %s", what, e);
    if (n >= msgsz)
        n = msgsz ? msgsz - 1 : 0;
    for (i = 0; i < n; i++)
        if (msg[i] == '\n' || msg[i] == '\r')
            msg[i] = ' ';
    while (n > 0 && msg[n - 1] == ' ')
        msg[--n] = '\0';
}

void
tr_store_deadline(struct tr_store *store, long ms)
{
    memset(&store->deadline, 0, sizeof(store->deadline));
    if (ms > 0) {
        clock_gettime(CLOCK_MONOTONIC, &store->deadline);
        tr_clock_add(&store->deadline, ms);
    }
}

/*
 * Waits until fd is ready for events, at most until the deadline (without
 * one, max_ms): 1 ready, 0 out of time, -1 poll failed.
 */
static int
wait_fd(const struct tr_store *store, int fd, short events, long max_ms)
{
    struct pollfd p;
    long ms;
    int r;

    p.fd = fd;
    p.events = events;
    p.revents = 0;
    for (;;) {
        ms = store->deadline.tv_sec != 0 ? tr_ms_until(&store->deadline)
                                         : max_ms;
        if (ms == 0)
            return 0;
        r = poll(&p, 1, ms < 0 || ms > INT_MAX ? -1 : (int)ms);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/*
 * The database failed us: drop the connection and make no new attempt for
 * a second, so that while it is away every request goes straight to the
 * spool instead of waiting out a connect each.
 */
static enum tr_err __attribute__((format(printf, 4, 5)))
gone(struct tr_store *store, char *msg, size_t msgsz, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(store->down_reason, sizeof(store->down_reason), fmt, ap);
    va_end(ap);
    if (store->conn != NULL)
        PQfinish(store->conn);
    store->conn = NULL;
    clock_gettime(CLOCK_MONOTONIC, &store->down_until);
    tr_clock_add(&store->down_until, TR_STORE_RETRY_MS);
    return tr_fail(msg, msgsz, TR_EDBDOWN, "%s", store->down_reason);
}

/*
 * The result of the command just sent (sent: whether sending worked), read
 * before the deadline, or without one within the statement timeout and 2 s.
 * Returns it when the command succeeded.  Else NULL with the reason in msg,
 * and the failed result in *failed (PQclear it) when there is one and
 * failed is not NULL.  Out of time, the connection is dropped (PostgreSQL
 * rolls back what was not committed).
 */
static PGresult *
answer(struct tr_store *store, int sent, PGresult **failed, char *msg,
       size_t msgsz)
{
    PGresult *res, *last = NULL;
    ExecStatusType st;
    const char *state;
    long bound;

    /* what refused and suspect say is of this statement, never an older */
    store->refused = store->suspect = 0;
    /* without a deadline: PostgreSQL cancels a statement itself after
     * statement_timeout, so silence beyond that is a server gone quiet */
    bound = store->deadline.tv_sec != 0 ? store->answer_ms
                                        : store->statement_timeout_ms + 2000;
    while (sent) {
        if (PQisBusy(store->conn)) {
            if (wait_fd(store, PQsocket(store->conn), POLLIN, bound) <= 0) {
                PQclear(last);
                gone(store, msg, msgsz,
                     "the database did not answer within "
                     "%ld ms",
                     bound);
                return NULL;
            }
            if (!PQconsumeInput(store->conn))
                break;
            continue;
        }
        if ((res = PQgetResult(store->conn)) == NULL)
            break;
        PQclear(last);
        last = res;
    }
    st = PQresultStatus(last);
    if (sent && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
        return last;
    state = last != NULL ? PQresultErrorField(last, PG_DIAG_SQLSTATE) : NULL;
    /* data exceptions and integrity violations: this data, every time */
    store->refused = state != NULL && (strncmp(state, "22", 2) == 0 ||
                                       strncmp(state, "23", 2) == 0);
    store->suspect = data_suspect(state);
    pq_reason(store->conn, msg, msgsz, "statement failed");
    if (failed != NULL)
        *failed = last;
    else
        PQclear(last);
    return NULL;
}

/* Runs a statement on the connection as it is; NULL when it failed. */
static PGresult *
exec(struct tr_store *store, const char *sql, int n, const char *const *params,
     char *msg, size_t msgsz)
{
    return answer(
        store,
        PQsendQueryParams(store->conn, sql, n, NULL, params, NULL, NULL, 0),
        NULL, msg, msgsz);
}

/* Sets the statement timeout of a session that took no "options". */
static enum tr_err
session_timeout(struct tr_store *store, char *msg, size_t msgsz)
{
    char ms[24];
    const char *p[1] = {ms};
    PGresult *res;

    snprintf(ms, sizeof(ms), "%ld", store->statement_timeout_ms);
    res = exec(store, tr_sql_session_timeout, 1, p, msg, msgsz);
    PQclear(res);
    /* without an answer in time the connection is gone; a refusal leaves
     * the server's own timeout, as a pooler may */
    return store->conn != NULL ? TR_OK : TR_EDBDOWN;
}

/*
 * A new session's commits reach the disk before the statement returns
 * (statements/session_commit.sql).  Without an answer the connection is gone; a
 * refusal (a pooler) leaves the session as it is.
 */
static enum tr_err
session_commit(struct tr_store *store, char *msg, size_t msgsz)
{
    PGresult *res = exec(store, tr_sql_session_commit, 0, NULL, msg, msgsz);

    store->commit_raised = res != NULL && tr_rows_text((struct tr_rows *)res, 0,
                                                       "raised")[0] == 't';
    PQclear(res);
    return store->conn != NULL ? TR_OK : TR_EDBDOWN;
}

/* Connects, polling within the deadline (or TR_STORE_CONNECT_MS): libpq's
 * connect_timeout rounds up to 2 s. */
static enum tr_err
connect_once(struct tr_store *store, char *msg, size_t msgsz)
{
    char options[64];
    /* DATABASE_URL (dbname) may override what comes before it */
    const char *kw[] = {
        "keepalives",       "keepalives_idle",  "keepalives_interval",
        "keepalives_count", "application_name", "client_encoding",
        "dbname",           "options",          NULL};
    const char *val[] = {"1",    "30",       "10",    "3", store->appname,
                         "UTF8", store->url, options, NULL};
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;

    snprintf(options, sizeof(options), "-c statement_timeout=%ld",
             store->statement_timeout_ms);
    if (store->no_options)
        kw[7] = NULL; /* stop the list before "options" */
    if ((store->conn = PQconnectStartParams(kw, val, 1)) == NULL)
        return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    while (PQstatus(store->conn) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
           st != PGRES_POLLING_FAILED) {
        if (wait_fd(store, PQsocket(store->conn),
                    st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                    TR_STORE_CONNECT_MS) == 0)
            return gone(store, msg, msgsz,
                        "connect to the database: no "
                        "answer in time");
        st = PQconnectPoll(store->conn);
    }
    return TR_OK;
}

enum tr_err
tr_store_connect(struct tr_store *store, char *msg, size_t msgsz)
{
    char why[256];
    enum tr_err err;

    if (store->url == NULL)
        return tr_fail(msg, msgsz, TR_EDBDOWN, "DATABASE_URL is not set");
    if (tr_store_connected(store))
        return TR_OK;
    if (store->down_until.tv_sec != 0 && tr_ms_until(&store->down_until) > 0)
        return tr_fail(msg, msgsz, TR_EDBDOWN,
                       "%s (not retried for a "
                       "second)",
                       store->down_reason);
    if (store->conn != NULL)
        PQfinish(store->conn);
    store->conn = NULL;
    store->nprepared = 0; /* a new session has none */
    if ((err = connect_once(store, msg, msgsz)) != TR_OK)
        return err;
    if (PQstatus(store->conn) != CONNECTION_OK) {
        if (!store->no_options &&
            strstr(PQerrorMessage(store->conn), "startup parameter") != NULL) {
            /* PgBouncer refuses "options" (unless ignore_startup_parameters
             * has it): connect without, and set the timeout per session */
            store->no_options = 1;
            return tr_store_connect(store, msg, msgsz);
        }
        pq_reason(store->conn, why, sizeof(why),
                  "connect to the database failed");
        return gone(store, msg, msgsz, "%s", why);
    }
    if (store->no_options &&
        (err = session_timeout(store, msg, msgsz)) != TR_OK)
        return err;
    return session_commit(store, msg, msgsz);
}

int
tr_store_preparing(const struct tr_store *store)
{
    return !store->unprepared;
}

int
tr_store_commit_raised(const struct tr_store *store)
{
    return store->commit_raised;
}

int
tr_store_connected(const struct tr_store *store)
{
    return store->conn != NULL && PQstatus(store->conn) == CONNECTION_OK;
}

int
tr_store_refused(const struct tr_store *store)
{
    return store->refused;
}

int
tr_store_data_suspect(const struct tr_store *store)
{
    return store->suspect;
}

int
tr_store_alive(struct tr_store *store)
{
    struct pollfd p;

    if (!tr_store_connected(store))
        return 0;
    /* an idle session gets nothing; a terminated one its notice and EOF */
    p.fd = PQsocket(store->conn);
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, 0) == 0)
        return 1;
    PQconsumeInput(store->conn);
    return 0;
}

/* Connected for a statement; in a transaction or kept session, the same. */
static enum tr_err
ready(struct tr_store *store, char *msg, size_t msgsz)
{
    if (!store->in_tx && !store->kept)
        return tr_store_connect(store, msg, msgsz);
    if (tr_store_connected(store))
        return TR_OK;
    return tr_fail(msg, msgsz, TR_EDBDOWN,
                   "the database connection broke "
                   "in the middle of a transaction");
}

/* sql's statement name, a hash of its text: one statement in every session
 * (two that a pooler gives one server connection never run each other's) */
static void
statement_name(const char *sql, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "tr_%016" PRIx64, tr_text_hash(sql));
}

/*
 * A prepared statement failed (bad: its result, or NULL).  When the
 * session lost its prepared statements (a pooler in transaction mode between
 * us and PostgreSQL: they are not ours to keep), plain ones from now on, and
 * this one again if no transaction is open.
 */
static struct tr_rows *
unprepare(struct tr_store *store, PGresult *bad, const char *sql, int n,
          const char *const *params, char *msg, size_t msgsz)
{
    const char *state = PQresultErrorField(bad, PG_DIAG_SQLSTATE);
    /* the server's statements are not this session's: gone (26000), taken
     * (42P05), or not the ones meant (08P01, a bind of another count) */
    int lost = state != NULL &&
               (strcmp(state, "26000") == 0 || strcmp(state, "42P05") == 0 ||
                strcmp(state, "08P01") == 0);

    PQclear(bad);
    if (!lost)
        return NULL; /* msg says why */
    store->unprepared = 1;
    if (PQtransactionStatus(store->conn) == PQTRANS_IDLE)
        return (struct tr_rows *)exec(store, sql, n, params, msg, msgsz);
    tr_fail(msg, msgsz, TR_EDB,
            "prepared statements are lost between "
            "transactions (a transaction pooler?): no longer preparing");
    return NULL;
}

struct tr_rows *
tr_store_query_prepared(struct tr_store *store, const char *sql, int n,
                        const char *const *params, char *msg, size_t msgsz)
{
    PGresult *res, *bad = NULL;
    char name[24];
    size_t i;

    if (ready(store, msg, msgsz) != TR_OK)
        return NULL;
    for (i = 0; i < store->nprepared && store->prepared[i] != sql; i++)
        ;
    if (i == PREPARED_MAX || store->unprepared)
        return (struct tr_rows *)exec(store, sql, n, params, msg, msgsz);
    statement_name(sql, name, sizeof(name));
    if (i == store->nprepared) {
        res = answer(store, PQsendPrepare(store->conn, name, sql, n, NULL),
                     &bad, msg, msgsz);
        if (res == NULL)
            return unprepare(store, bad, sql, n, params, msg, msgsz);
        PQclear(res);
        store->prepared[store->nprepared++] = sql;
    }
    res = answer(
        store, PQsendQueryPrepared(store->conn, name, n, params, NULL, NULL, 0),
        &bad, msg, msgsz);
    if (res == NULL)
        return unprepare(store, bad, sql, n, params, msg, msgsz);
    return (struct tr_rows *)res;
}

const char *
tr_store_prepared_as(const struct tr_store *store, const char *sql, char *buf,
                     size_t bufsz)
{
    size_t i;

    for (i = 0; i < store->nprepared && !store->unprepared; i++) {
        if (store->prepared[i] == sql) {
            statement_name(sql, buf, bufsz);
            return buf;
        }
    }
    return NULL;
}

struct tr_rows *
tr_store_query(struct tr_store *store, const char *sql, int n,
               const char *const *params, char *msg, size_t msgsz)
{
    return ready(store, msg, msgsz) != TR_OK
               ? NULL
               : (struct tr_rows *)exec(store, sql, n, params, msg, msgsz);
}

enum tr_err
tr_store_parse(struct tr_store *store, const char *sql, char *msg, size_t msgsz)
{
    PGresult *res;

    if (ready(store, msg, msgsz) != TR_OK)
        return TR_EDBDOWN;
    /* the unnamed statement: each parse replaces the last, none is kept */
    res = answer(store, PQsendPrepare(store->conn, "", sql, 0, NULL), NULL, msg,
                 msgsz);
    if (res == NULL)
        return tr_store_connected(store) ? TR_EDB : TR_EDBDOWN;
    PQclear(res);
    return TR_OK;
}

enum tr_err
tr_store_run(struct tr_store *store, const char *sql, int n,
             const char *const *params, char *msg, size_t msgsz)
{
    struct tr_rows *rows = tr_store_query(store, sql, n, params, msg, msgsz);

    if (rows == NULL)
        return TR_EDB;
    tr_rows_free(rows);
    return TR_OK;
}

enum tr_err
tr_store_begin(struct tr_store *store, char *msg, size_t msgsz)
{
    enum tr_err err = tr_store_run(store, "BEGIN", 0, NULL, msg, msgsz);

    if (err == TR_OK)
        store->in_tx = 1;
    return err;
}

enum tr_err
tr_store_commit(struct tr_store *store, char *msg, size_t msgsz)
{
    enum tr_err err = tr_store_run(store, "COMMIT", 0, NULL, msg, msgsz);

    store->in_tx = 0;
    return err;
}

/* Runs sql in the open transaction, leaving refused and suspect as they
 * were: they say what failed before it, not what it did. */
static void
run_keeping(struct tr_store *store, const char *sql)
{
    char ignored[64];
    int refused = store->refused, suspect = store->suspect;

    if (store->in_tx && tr_store_connected(store))
        tr_store_run(store, sql, 0, NULL, ignored, sizeof(ignored));
    store->refused = refused;
    store->suspect = suspect;
}

void
tr_store_rollback(struct tr_store *store)
{
    run_keeping(store, "ROLLBACK");
    store->in_tx = 0;
}

enum tr_err
tr_store_savepoint(struct tr_store *store, char *msg, size_t msgsz)
{
    return tr_store_run(store, "SAVEPOINT tr_item", 0, NULL, msg, msgsz);
}

void
tr_store_rollback_to(struct tr_store *store)
{
    run_keeping(store, "ROLLBACK TO SAVEPOINT tr_item");
}

void
tr_store_keep_session(struct tr_store *store, int keep)
{
    store->kept = keep;
}

enum tr_err
tr_store_script(struct tr_store *store, const char *sql, const char *what,
                char *msg, size_t msgsz)
{
    ExecStatusType st;
    PGresult *res;

    if (ready(store, msg, msgsz) != TR_OK)
        return TR_EDBDOWN;
    /* many statements: only the simple protocol runs them */
    res = PQexec(store->conn, sql);
    st = PQresultStatus(res);
    PQclear(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return TR_OK;
    pq_reason(store->conn, msg, msgsz, what);
    return TR_EDB;
}
