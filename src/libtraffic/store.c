/*
 * store.c: the PostgreSQL side: connection, the delivery transaction,
 * migrations and the operator's queries.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistr.h>

#include "buf.h"
#include "config.h"
#include "dir.h"
#include "leads.h"
#include "rules.h"
#include "store.h"

#define MIGRATE_LOCK_KEY 727384910      /* pg_advisory_lock key */
#define MIGRATION_MAX (1024 * 1024)

/*
 * A new sale in one statement: the sale, its copy for the dashboard, the
 * conversion of a unified sale (SALE_SQL_CONV: only in the statements that
 * need it, as a CTE that inserts nothing still costs an executor), the
 * messages, the log row.  $1-$27 the sale, $28 the account's API base, $29
 * the lease (ms) of the messages the worker will send itself right after
 * answering (NULL: none), $30 a conversion's referral code.
 */
#define SALE_SQL_HEAD                                                        \
    "WITH raw AS (SELECT $19::jsonb AS j"                                    \
    "), sale AS ("                                                           \
    " INSERT INTO sales_notifications (lead_id, lead_name, sale_amount,"     \
    "  currency, product_name, targetologist, targetologist_emoji,"          \
    "  utm_source, utm_medium, utm_campaign, utm_content, utm_term, utm_id," \
    "  pipeline_id, status_id, responsible_user_id, sale_date,"              \
    "  notification_status, raw_webhook_data, enrich_status, amocrm_base)"   \
    " SELECT $1, $2, $3::numeric, $4, $5, $6, $7, $8, $9, $10, $11, $12,"    \
    "  $13, $14, $15, $16, $17::timestamptz, $18, raw.j, $27, $28 FROM raw"  \
    " ON CONFLICT (lead_id) DO NOTHING"                                      \
    " RETURNING id, contact_name, trim_scale(sale_amount)::text AS price,"   \
    "  currency, product_name, targetologist, targetologist_emoji,"          \
    "  utm_campaign"                                                         \
    "), tracking AS ("                                                       \
    " INSERT INTO all_sales_tracking (lead_id, lead_name, sale_amount,"      \
    "  currency, product_name, targetologist, utm_source, utm_medium,"       \
    "  utm_campaign, utm_content, utm_term, utm_id, pipeline_id, status_id," \
    "  responsible_user_id, sale_date, webhook_received_at, source,"         \
    "  raw_webhook_data)"                                                    \
    " SELECT $1, $2, $3::numeric, $4, $5, $6, $8, $9, $10, $11, $12, $13,"   \
    "  $14, $15, $16, $17::timestamptz, $17::timestamptz, $22, raw.j"        \
    " FROM raw ON CONFLICT (lead_id) DO NOTHING"                             \
    ")"
#define SALE_SQL_CONV                                                        \
    ", conv AS ("                                                            \
    " INSERT INTO referral_conversions (lead_id, referral_code, amount,"     \
    "  currency, lead_name, utm_campaign, routing_decision, converted_at)"   \
    " VALUES ($1, $30, $3::numeric, $4, $2, $10, $26, $17::timestamptz)"     \
    " ON CONFLICT (lead_id) DO NOTHING"                                      \
    ")"
/* Unpaced chats: every chat not in a 429 pause takes the sale's messages,
 * nothing is locked. */
#define SALE_SQL_FREE                                                        \
    ", chat AS ("                                                            \
    " SELECT k.chat_id, true AS all_rows FROM telegram_chats k"              \
    " WHERE k.chat_id = ANY ($20::text[]) AND k.next_at <= now()"            \
    "  AND $29::bigint IS NOT NULL AND $27 <> 'pending'"                     \
    ")"
/* Paced chats: a free chat is held for the lease (its row locked SKIP
 * LOCKED, as CLAIM_SQL does) and takes one message. */
#define SALE_SQL_HOLD                                                        \
    ", chat AS ("                                                            \
    " UPDATE telegram_chats c SET next_at = now() + $29::bigint"             \
    "  * interval '1 millisecond'"                                           \
    " FROM (SELECT k.chat_id FROM telegram_chats k"                          \
    "  WHERE k.chat_id = ANY ($20::text[]) AND k.next_at <= now()"           \
    "   AND $29::bigint IS NOT NULL AND $27 <> 'pending'"                    \
    "   AND EXISTS (SELECT 1 FROM sale) FOR UPDATE SKIP LOCKED) free"        \
    " WHERE c.chat_id = free.chat_id RETURNING c.chat_id, false AS all_rows" \
    ")"
#define SALE_SQL_TAIL                                                        \
    ", outbox AS ("                                                          \
    " INSERT INTO notification_outbox (sale_id, lead_id, chat_id, thread_id," \
    "  next_attempt_at, lease_until, attempts)"                              \
    " SELECT sale.id, $1, c.chat_id, c.thread_id, CASE WHEN $27 = 'pending'" \
    "  THEN 'infinity' ELSE $17::timestamptz END,"                           \
    "  CASE WHEN c.mine THEN now() + $29::bigint * interval '1 millisecond'" \
    "  END, CASE WHEN c.mine THEN 1 ELSE 0 END"                              \
    " FROM sale, (SELECT u.chat_id, u.thread_id,"                            \
    "   u.chat_id IN (SELECT chat_id FROM chat WHERE all_rows)"              \
    "   OR (u.rn = 1 AND u.chat_id IN (SELECT chat_id FROM chat)) AS mine"   \
    "  FROM (SELECT v.chat_id, v.thread_id, row_number() OVER (PARTITION BY" \
    "   v.chat_id ORDER BY v.n) AS rn FROM unnest($20::text[],"              \
    "   $21::bigint[]) WITH ORDINALITY AS v(chat_id, thread_id, n)) u) c"    \
    " RETURNING id, lead_id, chat_id, thread_id, attempts,"                  \
    "  lease_until IS NOT NULL AS mine"                                      \
    "), log AS ("                                                            \
    " INSERT INTO webhook_logs (received_at, source, event_type, lead_id,"   \
    "  request_id, routing_decision, processing_status, targetologist,"      \
    "  raw_body)"                                                            \
    " SELECT $17::timestamptz, $22, $23, $1, $24, $26,"                      \
    "  CASE WHEN EXISTS (SELECT 1 FROM sale) THEN 'success'"                 \
    "  ELSE 'duplicate' END, $6, $25"                                        \
    " RETURNING processing_status"                                           \
    ")"                                                                      \
    /* one row, or one per message held: the sale, then the message in */    \
    /* the columns of CLAIM_SQL (notify.c) */                                \
    " SELECT sale.id, (SELECT processing_status FROM log), o.id, o.chat_id," \
    "  coalesce(o.thread_id, 0), o.attempts, o.lead_id, sale.contact_name,"  \
    "  sale.price, sale.currency, sale.product_name, sale.targetologist,"    \
    "  sale.targetologist_emoji, sale.utm_campaign"                          \
    " FROM (SELECT 1) one LEFT JOIN sale ON true"                            \
    " LEFT JOIN outbox o ON o.mine"

static const char sale_sql[] = SALE_SQL_HEAD SALE_SQL_FREE SALE_SQL_TAIL;
static const char sale_paced_sql[] =
    SALE_SQL_HEAD SALE_SQL_HOLD SALE_SQL_TAIL;
static const char sale_conv_sql[] =
    SALE_SQL_HEAD SALE_SQL_CONV SALE_SQL_FREE SALE_SQL_TAIL;
static const char sale_conv_paced_sql[] =
    SALE_SQL_HEAD SALE_SQL_CONV SALE_SQL_HOLD SALE_SQL_TAIL;

/* A referral sale of the unified endpoint: a conversion, not a sale. */
static const char referral_sql[] =
    "WITH conv AS ("
    " INSERT INTO referral_conversions (lead_id, referral_code, amount,"
    "  currency, lead_name, utm_campaign, routing_decision, converted_at)"
    " VALUES ($1, $2, $3::numeric, $4, $5, $6, 'referral', $7::timestamptz)"
    " ON CONFLICT (lead_id) DO NOTHING RETURNING id"
    ")"
    " INSERT INTO webhook_logs (received_at, source, event_type, lead_id,"
    "  request_id, routing_decision, processing_status, raw_body)"
    " SELECT $7::timestamptz, $8, $9, $1, $10, 'referral',"
    "  CASE WHEN EXISTS (SELECT 1 FROM conv) THEN 'success'"
    "  ELSE 'duplicate' END, $11"
    " RETURNING processing_status";

static const char log_sql[] =
    "INSERT INTO webhook_logs (received_at, source, event_type, lead_id,"
    " request_id, processing_status, skip_reason, error_message, raw_body)"
    " VALUES ($1::timestamptz, $2, $3, $4, $5, $6, $7, $8, $9)";

const char *
tr_outcome_name(enum tr_outcome o)
{
    switch (o) {
    case TR_OUT_SUCCESS:
        return "success";
    case TR_OUT_DUPLICATE:
        return "duplicate";
    case TR_OUT_SKIPPED:
        return "skipped";
    case TR_OUT_IGNORED:
        return "ignored";
    case TR_OUT_ERROR:
        return "error";
    }
    return "error";
}

void
tr_store_timestamp(char *buf, size_t bufsz, long long sec, long nsec)
{
    struct tm tm;
    time_t t = (time_t)sec;
    char date[32];

    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, bufsz, "%s.%06ld+00", date, nsec / 1000);
}

enum tr_err
tr_store_sanitize(struct tr_buf *dst, const char *s, size_t n, size_t max)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + n;
    enum tr_err err = TR_OK;
    ucs4_t uc;
    int len;

    /* the usual body: valid UTF-8 without NUL, within bounds, in one go */
    if (dst->len + n <= max && memchr(s, '\0', n) == NULL &&
        u8_check(p, n) == NULL)
        return tr_buf_add(dst, s, n);
    while (p < end && err == TR_OK) {
        len = u8_mbtoucr(&uc, p, (size_t)(end - p));
        if (dst->len + (len > 0 ? (size_t)len : 3) > max)
            return tr_buf_addf(dst, "...[truncated, %zu bytes in all]", n);
        if (len <= 0 || uc == 0) {
            err = tr_buf_adds(dst, "\xEF\xBF\xBD");
            p++;
        } else {
            err = tr_buf_add(dst, p, (size_t)len);
            p += len;
        }
    }
    return err;
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

static void
clock_add(struct timespec *t, long ms)
{
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* Milliseconds from now until t (0 when past). */
static long
ms_until(const struct timespec *t)
{
    struct timespec now;
    long ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (long)(t->tv_sec - now.tv_sec) * 1000 +
         (t->tv_nsec - now.tv_nsec) / 1000000L;
    return ms > 0 ? ms : 0;
}

void
tr_store_deadline(struct tr_store *store, long ms)
{
    memset(&store->deadline, 0, sizeof(store->deadline));
    if (ms > 0) {
        clock_gettime(CLOCK_MONOTONIC, &store->deadline);
        clock_add(&store->deadline, ms);
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
        ms = store->deadline.tv_sec != 0 ? ms_until(&store->deadline) : max_ms;
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
static enum tr_err
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
    clock_add(&store->down_until, TR_STORE_RETRY_MS);
    return tr_fail(msg, msgsz, TR_EDBDOWN, "%s", store->down_reason);
}

enum tr_err
tr_store_connect(struct tr_store *store, char *msg, size_t msgsz)
{
    char options[64], why[256];
    /* DATABASE_URL (dbname) may override what comes before it */
    const char *kw[] = {"keepalives", "keepalives_idle",
                        "keepalives_interval", "keepalives_count",
                        "application_name", "client_encoding", "dbname",
                        "options", NULL};
    const char *val[] = {"1", "30", "10", "3", store->appname, "UTF8",
                         store->url, options, NULL};
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    int ready;

    if (store->url == NULL)
        return tr_fail(msg, msgsz, TR_EDBDOWN, "DATABASE_URL is not set");
    if (store->conn != NULL && PQstatus(store->conn) == CONNECTION_OK)
        return TR_OK;
    if (store->down_until.tv_sec != 0 && ms_until(&store->down_until) > 0)
        return tr_fail(msg, msgsz, TR_EDBDOWN, "%s (not retried for a "
                       "second)", store->down_reason);
    if (store->conn != NULL)
        PQfinish(store->conn);
    store->nprepared = 0;       /* a new session has none */
    snprintf(options, sizeof(options), "-c statement_timeout=%ld",
             store->statement_timeout_ms);
    if (store->no_options)
        kw[7] = NULL;           /* stop the list before "options" */
    /* connected without blocking, so that the request's deadline (or
     * CONNECT_MS) bounds it: libpq's connect_timeout rounds up to 2 s */
    store->conn = PQconnectStartParams(kw, val, 1);
    if (store->conn == NULL)
        return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    while (PQstatus(store->conn) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
           st != PGRES_POLLING_FAILED) {
        ready = wait_fd(store, PQsocket(store->conn),
                        st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                        TR_STORE_CONNECT_MS);
        if (ready == 0)
            return gone(store, msg, msgsz, "connect to the database: no "
                        "answer in time");
        st = PQconnectPoll(store->conn);
    }
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
    if (store->no_options) {
        char set[64];

        snprintf(set, sizeof(set), "SET statement_timeout = %ld",
                 store->statement_timeout_ms);
        PQclear(PQexec(store->conn, set));
    }
    return TR_OK;
}

int
tr_store_alive(struct tr_store *store)
{
    char msg[256];

    if (store->conn != NULL && PQstatus(store->conn) == CONNECTION_OK) {
        /* a terminated backend leaves an error and EOF to be read */
        if (PQconsumeInput(store->conn) && PQstatus(store->conn) ==
                                                CONNECTION_OK)
            return 1;
    }
    return tr_store_connect(store, msg, sizeof(msg)) == TR_OK;
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
    long bound;

    /* without a deadline: PostgreSQL cancels a statement itself after
     * statement_timeout, so silence beyond that is a server gone quiet */
    bound = store->deadline.tv_sec != 0
                ? (store->cfg ? store->cfg->db_answer_ms : 0L)
                : store->statement_timeout_ms + 2000;
    while (sent) {
        if (PQisBusy(store->conn)) {
            if (wait_fd(store, PQsocket(store->conn), POLLIN, bound) <= 0) {
                PQclear(last);
                gone(store, msg, msgsz, "the database did not answer within "
                     "%ld ms", bound);
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
    pq_reason(store->conn, msg, msgsz, "statement failed");
    if (failed != NULL)
        *failed = last;
    else
        PQclear(last);
    return NULL;
}

/* Runs a statement that returns no rows or rows; NULL when it failed. */
static PGresult *
exec(struct tr_store *store, const char *sql, int n,
     const char *const *params, char *msg, size_t msgsz)
{
    return answer(store, PQsendQueryParams(store->conn, sql, n, NULL, params,
                                           NULL, NULL, 0), NULL, msg, msgsz);
}

/*
 * A prepared statement failed (bad: its result, or NULL).  When the
 * session lost its prepared statements (a pooler in transaction mode between
 * us and PostgreSQL: they are not ours to keep), plain ones from now on, and
 * this one again if no transaction is open.
 */
static PGresult *
unprepare(struct tr_store *store, PGresult *bad, const char *sql, int n,
          const char *const *params, char *msg, size_t msgsz)
{
    const char *state = PQresultErrorField(bad, PG_DIAG_SQLSTATE);
    int lost = state != NULL && (strcmp(state, "26000") == 0 ||
                                 strcmp(state, "42P05") == 0);

    PQclear(bad);
    if (!lost)
        return NULL;            /* msg says why */
    store->unprepared = 1;
    if (PQtransactionStatus(store->conn) == PQTRANS_IDLE)
        return exec(store, sql, n, params, msg, msgsz);
    tr_fail(msg, msgsz, TR_EDB, "prepared statements are lost between "
            "transactions (a transaction pooler?): no longer preparing");
    return NULL;
}

/*
 * Runs a statement of the sale path prepared: parsed and planned once per
 * session, which for the sale's statement is most of PostgreSQL's work.
 * Statements are known by their (static) text's address.
 */
static PGresult *
exec_prepared(struct tr_store *store, const char *sql, int n,
              const char *const *params, char *msg, size_t msgsz)
{
    const size_t max = sizeof(store->prepared) / sizeof(store->prepared[0]);
    PGresult *res, *bad = NULL;
    char name[16];
    size_t i;

    for (i = 0; i < store->nprepared && store->prepared[i] != sql; i++)
        ;
    if (i == max || store->unprepared)
        return exec(store, sql, n, params, msg, msgsz);
    snprintf(name, sizeof(name), "tr%zu", i);
    if (i == store->nprepared) {
        res = answer(store, PQsendPrepare(store->conn, name, sql, n, NULL),
                     &bad, msg, msgsz);
        if (res == NULL)
            return unprepare(store, bad, sql, n, params, msg, msgsz);
        PQclear(res);
        store->prepared[store->nprepared++] = sql;
    }
    res = answer(store, PQsendQueryPrepared(store->conn, name, n, params,
                                            NULL, NULL, 0), &bad, msg, msgsz);
    return res != NULL ? res : unprepare(store, bad, sql, n, params, msg,
                                         msgsz);
}

/* tr_store_query, for a statement whose result is not needed. */
enum tr_err
tr_store_run(struct tr_store *store, const char *sql, int n,
             const char *const *params, char *msg, size_t msgsz)
{
    PGresult *res = tr_store_query(store, sql, n, params, msg, msgsz);

    if (res == NULL)
        return TR_EDB;
    PQclear(res);
    return TR_OK;
}

PGresult *
tr_store_query_prepared(struct tr_store *store, const char *sql, int n,
                        const char *const *params, char *msg, size_t msgsz)
{
    if (tr_store_connect(store, msg, msgsz) != TR_OK)
        return NULL;
    return exec_prepared(store, sql, n, params, msg, msgsz);
}

PGresult *
tr_store_query(struct tr_store *store, const char *sql, int n,
               const char *const *params, char *msg, size_t msgsz)
{
    if (tr_store_connect(store, msg, msgsz) != TR_OK)
        return NULL;
    return exec(store, sql, n, params, msg, msgsz);
}

static int
simple(struct tr_store *store, const char *sql, char *msg, size_t msgsz)
{
    PGresult *res = exec(store, sql, 0, NULL, msg, msgsz);

    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

/* Builds the PostgreSQL array literals of the configured chats. */
static enum tr_err
chat_arrays(struct tr_store *store)
{
    const struct tr_config *cfg = store->cfg;
    struct tr_buf ids, threads;
    enum tr_err err;
    size_t i;

    tr_buf_init(&ids, 4096);
    tr_buf_init(&threads, 4096);
    err = tr_buf_adds(&ids, "{");
    if (err == TR_OK)
        err = tr_buf_adds(&threads, "{");
    for (i = 0; cfg != NULL && i < cfg->nchats && err == TR_OK; i++) {
        err = tr_buf_addf(&ids, "%s\"%s\"", i ? "," : "", cfg->chats[i].id);
        if (err != TR_OK)
            break;
        if (cfg->chats[i].thread_id != 0)
            err = tr_buf_addf(&threads, "%s%" PRId64, i ? "," : "",
                              cfg->chats[i].thread_id);
        else
            err = tr_buf_addf(&threads, "%sNULL", i ? "," : "");
    }
    if (err == TR_OK)
        err = tr_buf_adds(&ids, "}");
    if (err == TR_OK)
        err = tr_buf_adds(&threads, "}");
    if (err == TR_OK) {
        store->chat_ids = tr_buf_detach(&ids);
        store->thread_ids = tr_buf_detach(&threads);
    }
    tr_buf_release(&ids);
    tr_buf_release(&threads);
    return err != TR_OK || store->chat_ids == NULL || store->thread_ids == NULL
               ? TR_ENOMEM : TR_OK;
}

enum tr_err
tr_store_init(struct tr_store *store, const char *url, const char *appname,
              const struct tr_config *cfg)
{
    memset(store, 0, sizeof(*store));
    store->cfg = cfg;
    store->statement_timeout_ms = cfg ? cfg->statement_timeout_ms : 5000;
    snprintf(store->appname, sizeof(store->appname), "%s", appname);
    if (url != NULL && (store->url = strdup(url)) == NULL)
        return TR_ENOMEM;
    if (cfg != NULL) {
        char base[512];

        store->enrich = tr_config_amocrm_base(cfg, base, sizeof(base));
    }
    return chat_arrays(store);
}

void
tr_store_release(struct tr_store *store)
{
    tr_store_drop_held(store);
    if (store->conn != NULL)
        PQfinish(store->conn);
    free(store->url);
    free(store->chat_ids);
    free(store->thread_ids);
    memset(store, 0, sizeof(*store));
}

static const char *
nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static enum tr_err
save_sale(struct tr_store *store, struct tr_delivery *d, struct tr_item *it,
          char *msg, size_t msgsz)
{
    const struct tr_lead *l = it->lead;
    const struct tr_config *cfg = store->cfg;
    char id[24], pipe[24], status[24], resp[24];
    char hold[24];
    const char *json, *sql, *p[30];
    PGresult *res;
    int notify, keep, paced;

    snprintf(id, sizeof(id), "%" PRId64, l->id);
    snprintf(pipe, sizeof(pipe), "%" PRId64, l->pipeline_id);
    snprintf(status, sizeof(status), "%" PRId64, l->status_id);
    snprintf(resp, sizeof(resp), "%" PRId64, l->responsible_user_id);
    json = json_object_to_json_string_ext(l->raw, JSON_C_TO_STRING_PLAIN |
                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    notify = cfg != NULL && cfg->nchats > 0 && cfg->telegram_bot_token != NULL;

    p[0] = id;
    p[1] = nonempty(l->name);
    p[2] = nonempty(l->price);
    p[3] = cfg ? cfg->currency : "KZT";
    p[4] = cfg ? cfg->product_name : NULL;
    p[5] = it->rule->name;
    p[6] = it->rule->emoji;
    p[7] = l->utm.v[TR_UTM_SOURCE];
    p[8] = l->utm.v[TR_UTM_MEDIUM];
    p[9] = l->utm.v[TR_UTM_CAMPAIGN];
    p[10] = l->utm.v[TR_UTM_CONTENT];
    p[11] = l->utm.v[TR_UTM_TERM];
    p[12] = l->utm.v[TR_UTM_ID];
    p[13] = l->pipeline_id ? pipe : NULL;
    p[14] = l->status_id ? status : NULL;
    p[15] = l->responsible_user_id ? resp : NULL;
    p[16] = d->received_at;
    p[17] = notify ? "pending" : "disabled";
    p[18] = json;
    p[19] = notify ? store->chat_ids : "{}";
    p[20] = notify ? store->thread_ids : "{}";
    p[21] = d->source;
    p[22] = it->event;
    p[23] = d->request_id;
    p[24] = d->log_body;
    p[25] = it->routing;
    p[26] = store->enrich ? "pending" : "skipped";
    p[27] = d->amocrm_base;
    keep = notify && store->hold_ms > 0 &&
           store->nheld < sizeof(store->held) / sizeof(store->held[0]);
    snprintf(hold, sizeof(hold), "%ld", store->hold_ms);
    p[28] = keep ? hold : NULL;
    p[29] = it->referral_code;
    paced = notify && (cfg->tg_chat_interval_ms > 0 ||
                       cfg->tg_group_per_minute > 0);
    sql = it->conversion ? (paced ? sale_conv_paced_sql : sale_conv_sql)
                         : (paced ? sale_paced_sql : sale_sql);
    if ((res = exec_prepared(store, sql, it->conversion ? 30 : 29, p, msg,
                             msgsz)) == NULL)
        return TR_EDB;
    if (PQntuples(res) < 1) {
        PQclear(res);
        return tr_fail(msg, msgsz, TR_EDB, "sale statement returned no row");
    }
    if (!PQgetisnull(res, 0, 0)) {
        it->outcome = TR_OUT_SUCCESS;
        it->sale_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (keep && !PQgetisnull(res, 0, 2)) {
            /* messages this process sends once AmoCRM has its answer */
            store->held[store->nheld++] = res;
            return TR_OK;
        }
    } else {
        it->outcome = TR_OUT_DUPLICATE;
        snprintf(it->reason, sizeof(it->reason),
                 "a sale for lead %" PRId64 " is already stored", l->id);
    }
    PQclear(res);
    return TR_OK;
}

static enum tr_err
save_referral(struct tr_store *store, const struct tr_delivery *d,
              struct tr_item *it, char *msg, size_t msgsz)
{
    const struct tr_lead *l = it->lead;
    char id[24];
    const char *p[11];
    PGresult *res;

    snprintf(id, sizeof(id), "%" PRId64, l->id);
    p[0] = id;
    p[1] = it->referral_code;
    p[2] = nonempty(l->price);
    p[3] = store->cfg ? store->cfg->currency : "KZT";
    p[4] = nonempty(l->name);
    p[5] = l->utm.v[TR_UTM_CAMPAIGN];
    p[6] = d->received_at;
    p[7] = d->source;
    p[8] = it->event;
    p[9] = d->request_id;
    p[10] = d->log_body;
    if ((res = exec_prepared(store, referral_sql, 11, p, msg, msgsz)) ==
        NULL)
        return TR_EDB;
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "duplicate") ==
        0) {
        it->outcome = TR_OUT_DUPLICATE;
        snprintf(it->reason, sizeof(it->reason), "a conversion for lead %"
                 PRId64 " is already stored", l->id);
    }
    PQclear(res);
    return TR_OK;
}

static enum tr_err
save_log(struct tr_store *store, const struct tr_delivery *d,
         const struct tr_item *it, char *msg, size_t msgsz)
{
    char id[24];
    const char *p[9];
    PGresult *res;

    snprintf(id, sizeof(id), "%" PRId64, it->lead_id);
    p[0] = d->received_at;
    p[1] = d->source;
    p[2] = it->event;
    p[3] = it->lead_id ? id : NULL;
    p[4] = d->request_id;
    p[5] = tr_outcome_name(it->outcome);
    p[6] = it->outcome != TR_OUT_ERROR ? nonempty(it->reason) : NULL;
    p[7] = it->outcome == TR_OUT_ERROR ? nonempty(it->reason) : NULL;
    p[8] = d->log_body;
    if ((res = exec_prepared(store, log_sql, 9, p, msg, msgsz)) == NULL)
        return TR_EDB;
    PQclear(res);
    return TR_OK;
}

void
tr_store_drop_held(struct tr_store *store)
{
    while (store->nheld > 0)
        PQclear(store->held[--store->nheld]);
}

static enum tr_err
save_once(struct tr_store *store, struct tr_delivery *d, char *msg,
          size_t msgsz)
{
    int tx = d->nitems > 1;
    enum tr_err err = TR_OK;
    size_t i;

    tr_store_drop_held(store);

    if (tx && simple(store, "BEGIN", msg, msgsz) != 0)
        return TR_EDB;
    for (i = 0; i < d->nitems && err == TR_OK; i++) {
        struct tr_item *it = &d->items[i];

        if (it->is_sale)
            err = save_sale(store, d, it, msg, msgsz);
        else if (it->conversion)
            err = save_referral(store, d, it, msg, msgsz);
        else
            err = save_log(store, d, it, msg, msgsz);
    }
    if (tx && err == TR_OK && simple(store, "COMMIT", msg, msgsz) != 0)
        err = TR_EDB;
    if (tx && err != TR_OK && PQstatus(store->conn) == CONNECTION_OK) {
        char ignored[64];

        simple(store, "ROLLBACK", ignored, sizeof(ignored));
    }
    if (err != TR_OK)
        tr_store_drop_held(store);  /* rolled back: nothing is held */
    return err;
}

enum tr_err
tr_store_save(struct tr_store *store, struct tr_delivery *d, char *msg,
              size_t msgsz)
{
    enum tr_err err = TR_OK;
    int attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        if ((err = tr_store_connect(store, msg, msgsz)) != TR_OK)
            return err;
        err = save_once(store, d, msg, msgsz);
        if (err == TR_OK || PQstatus(store->conn) == CONNECTION_OK)
            return err;
        /* the connection broke (server restart, terminated backend) */
        err = TR_EDBDOWN;
    }
    return err;
}

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
        err = tr_fail(msg, msgsz, TR_EIO, "no NNN_name.sql files in \"%s\"",
                      dir);
    return err;
}

static char *
read_file(const char *dir, const char *name, char *msg, size_t msgsz)
{
    char path[4096];
    struct tr_buf b;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    tr_buf_init(&b, MIGRATION_MAX);
    if (tr_buf_read_file(&b, path, msg, msgsz) != TR_OK) {
        tr_buf_release(&b);
        return NULL;
    }
    return tr_buf_detach(&b);
}

/* Whether schema_migrations records version; -1 on error. */
static int
applied(struct tr_store *store, const char *version, char *msg, size_t msgsz)
{
    const char *p[1] = {version};
    PGresult *res;
    int yes;

    res = exec(store,
               "SELECT to_regclass('schema_migrations') IS NOT NULL",
               0, NULL, msg, msgsz);
    if (res == NULL)
        return -1;
    yes = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!yes)
        return 0;
    res = exec(store, "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
               p, msg, msgsz);
    if (res == NULL)
        return -1;
    yes = PQntuples(res) > 0;
    PQclear(res);
    return yes;
}

enum tr_err
tr_store_pending_migrations(struct tr_store *store, const char *sqldir,
                            int *pending, char *msg, size_t msgsz)
{
    struct tr_dir_list files;
    char version[4];
    enum tr_err err;
    size_t i;
    int a;

    *pending = 0;
    if ((err = tr_store_connect(store, msg, msgsz)) != TR_OK)
        return err;
    if ((err = list_migrations(&files, sqldir, msg, msgsz)) != TR_OK) {
        tr_dir_list_release(&files);
        return err;
    }
    for (i = 0; i < files.n && err == TR_OK; i++) {
        memcpy(version, files.names[i], 3);
        version[3] = '\0';
        if ((a = applied(store, version, msg, msgsz)) < 0)
            err = TR_EDB;
        *pending += a == 0;
    }
    tr_dir_list_release(&files);
    return err;
}

enum tr_err
tr_store_migrate(struct tr_store *store, const char *sqldir, FILE *out,
                 char *msg, size_t msgsz)
{
    struct tr_dir_list files;
    char *sql = NULL, version[4], lock[64];
    const char *p[1];
    size_t i, done = 0;
    enum tr_err err;
    PGresult *res;
    int a;

    if ((err = tr_store_connect(store, msg, msgsz)) != TR_OK)
        return err;
    if ((err = list_migrations(&files, sqldir, msg, msgsz)) != TR_OK) {
        tr_dir_list_release(&files);
        return err;
    }
    snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%d)",
             MIGRATE_LOCK_KEY);
    if (simple(store, lock, msg, msgsz) != 0) {
        tr_dir_list_release(&files);
        return TR_EDB;
    }
    for (i = 0; i < files.n; i++) {
        memcpy(version, files.names[i], 3);
        version[3] = '\0';
        if ((a = applied(store, version, msg, msgsz)) < 0) {
            err = TR_EDB;
            break;
        }
        if (a)
            continue;
        if ((sql = read_file(sqldir, files.names[i], msg, msgsz)) == NULL) {
            err = TR_EIO;
            break;
        }
        if (simple(store, "BEGIN", msg, msgsz) != 0) {
            err = TR_EDB;
            break;
        }
        /* a migration is many statements: the simple protocol runs them */
        res = PQexec(store->conn, sql);
        free(sql);
        sql = NULL;
        if (PQresultStatus(res) != PGRES_COMMAND_OK &&
            PQresultStatus(res) != PGRES_TUPLES_OK) {
            char why[512];

            pq_reason(store->conn, why, sizeof(why), files.names[i]);
            tr_fail(msg, msgsz, TR_EDB, "%s", why);
            PQclear(res);
            simple(store, "ROLLBACK", why, sizeof(why));
            err = TR_EDB;
            break;
        }
        PQclear(res);
        p[0] = version;
        res = exec(store,
                   "INSERT INTO schema_migrations (version) VALUES ($1)"
                   " ON CONFLICT DO NOTHING",
                   1, p, msg, msgsz);
        if (res == NULL || simple(store, "COMMIT", msg, msgsz) != 0) {
            char why[64];

            PQclear(res);
            simple(store, "ROLLBACK", why, sizeof(why));
            err = TR_EDB;
            break;
        }
        PQclear(res);
        fprintf(out, "applied %s\n", files.names[i]);
        done++;
    }
    snprintf(lock, sizeof(lock), "SELECT pg_advisory_unlock(%d)",
             MIGRATE_LOCK_KEY);
    if (PQstatus(store->conn) == CONNECTION_OK) {
        char why[64];

        simple(store, lock, why, sizeof(why));
    }
    if (err == TR_OK && done == 0)
        fprintf(out, "schema is up to date (%zu migrations)\n", files.n);
    tr_dir_list_release(&files);
    return err;
}

enum tr_err
tr_store_print_logs(struct tr_store *store, const struct tr_logs_filter *f,
                    FILE *out, char *msg, size_t msgsz)
{
    char limit[24], lead[24];
    const char *p[4];
    PGresult *res;
    enum tr_err err;
    int i, j, nf;

    if ((err = tr_store_connect(store, msg, msgsz)) != TR_OK)
        return err;
    snprintf(limit, sizeof(limit), "%ld", f->limit);
    snprintf(lead, sizeof(lead), "%" PRId64, f->lead_id);
    p[0] = limit;
    p[1] = f->status;
    p[2] = f->lead_id ? lead : NULL;
    p[3] = f->source;
    res = exec(store,
               "SELECT to_char(received_at AT TIME ZONE 'UTC',"
               "  'YYYY-MM-DD HH24:MI:SS') AS received_utc,"
               " source, event_type, lead_id, processing_status AS status,"
               " coalesce(targetologist, '') AS targetologist,"
               " coalesce(error_message, skip_reason, '') AS reason,"
               " coalesce(request_id, '') AS request_id"
               " FROM webhook_logs"
               " WHERE ($2::text IS NULL OR processing_status = $2)"
               "  AND ($3::bigint IS NULL OR lead_id = $3)"
               "  AND ($4::text IS NULL OR source = $4)"
               " ORDER BY received_at DESC, id DESC LIMIT $1::bigint",
               4, p, msg, msgsz);
    if (res == NULL)
        return TR_EDB;
    nf = PQnfields(res);
    for (j = 0; j < nf; j++)
        fprintf(out, "%s%s", j ? "\t" : "", PQfname(res, j));
    fputc('\n', out);
    for (i = 0; i < PQntuples(res); i++) {
        for (j = 0; j < nf; j++)
            fprintf(out, "%s%s", j ? "\t" : "", PQgetvalue(res, i, j));
        fputc('\n', out);
    }
    fprintf(out, "(%d rows)\n", PQntuples(res));
    PQclear(res);
    return TR_OK;
}

enum tr_err
tr_store_purge_lead(struct tr_store *store, int64_t lead_id, FILE *out,
                    char *msg, size_t msgsz)
{
    static const char *const tables[] = {
        "notification_outbox", "all_sales_tracking", "sales_notifications",
        "webhook_logs",
    };
    char lead[24], sql[128], why[64];
    const char *p[1] = {lead};
    long removed[4];
    PGresult *res;
    enum tr_err err;
    size_t i;

    if ((err = tr_store_connect(store, msg, msgsz)) != TR_OK)
        return err;
    snprintf(lead, sizeof(lead), "%" PRId64, lead_id);
    if (simple(store, "BEGIN", msg, msgsz) != 0)
        return TR_EDB;
    for (i = 0; i < 4; i++) {
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE lead_id = $1",
                 tables[i]);
        if ((res = exec(store, sql, 1, p, msg, msgsz)) == NULL) {
            simple(store, "ROLLBACK", why, sizeof(why));
            return TR_EDB;
        }
        removed[i] = strtol(PQcmdTuples(res), NULL, 10);
        PQclear(res);
    }
    if (simple(store, "COMMIT", msg, msgsz) != 0)
        return TR_EDB;
    for (i = 0; i < 4; i++)
        fprintf(out, "%s: %ld row%s removed\n", tables[i], removed[i],
                removed[i] == 1 ? "" : "s");
    return TR_OK;
}

enum tr_err
tr_store_prune_logs(struct tr_store *store, long long seconds, long *removed,
                    char *msg, size_t msgsz)
{
    char secs[24];
    const char *p[1] = {secs};
    PGresult *res;

    snprintf(secs, sizeof(secs), "%lld", seconds);
    res = tr_store_query(store, "DELETE FROM webhook_logs WHERE received_at"
                         " < now() - $1 * interval '1 second'", 1, p, msg,
                         msgsz);
    if (res == NULL)
        return TR_EDB;
    *removed = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return TR_OK;
}

void
tr_sale_release(struct tr_sale *sale)
{
    char **f[] = {&sale->lead_name, &sale->contact_name, &sale->amount,
                  &sale->currency, &sale->product, &sale->targetologist,
                  &sale->emoji, &sale->campaign, &sale->source,
                  &sale->notification_status};
    size_t i;

    for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        free(*f[i]);
        *f[i] = NULL;
    }
}

enum tr_err
tr_store_get_sale(struct tr_store *store, int64_t lead_id,
                  struct tr_sale *sale, char *msg, size_t msgsz)
{
    char id[24];
    const char *p[1] = {id};
    char **f[] = {&sale->lead_name, &sale->contact_name, &sale->amount,
                  &sale->currency, &sale->product, &sale->targetologist,
                  &sale->emoji, &sale->campaign, &sale->source,
                  &sale->notification_status};
    PGresult *res;
    enum tr_err err;
    int i;

    memset(sale, 0, sizeof(*sale));
    if ((err = tr_store_connect(store, msg, msgsz)) != TR_OK)
        return err;
    snprintf(id, sizeof(id), "%" PRId64, lead_id);
    res = exec(store,
               "SELECT lead_name, contact_name, trim_scale(sale_amount)::text,"
               " currency, product_name, targetologist, targetologist_emoji,"
               " utm_campaign, utm_source, notification_status"
               " FROM sales_notifications WHERE lead_id = $1",
               1, p, msg, msgsz);
    if (res == NULL)
        return TR_EDB;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return tr_fail(msg, msgsz, TR_EINVAL, "no sale for lead %s", id);
    }
    for (i = 0; i < 10; i++) {
        if (PQgetisnull(res, 0, i))
            continue;
        if ((*f[i] = strdup(PQgetvalue(res, 0, i))) == NULL) {
            PQclear(res);
            tr_sale_release(sale);
            return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
        }
    }
    PQclear(res);
    return TR_OK;
}
