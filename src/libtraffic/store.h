/*
 * store.h: PostgreSQL storage (libpq).
 *
 * One persistent connection per process, opened from DATABASE_URL with a
 * connect timeout, TCP keepalives, an application_name and a statement
 * timeout (the URL's own settings win).  A broken connection is detected and
 * re-established on the next call, without restarting the process.
 *
 * A delivery (one webhook request) is written in ONE transaction: a
 * webhook_logs row per lead seen (or one for a body without leads), the sale
 * rows with ON CONFLICT DO NOTHING deciding duplicates, and the outbox rows
 * of new sales.  Statements are parameterised (PQexecParams) and unnamed, so
 * the service works through PgBouncer or Supabase transaction pooling.
 */
#ifndef TR_STORE_H
#define TR_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "err.h"

struct pg_conn;
struct pg_result;
struct tr_config;
struct tr_lead;
struct tr_rule;

#define TR_LOG_BODY_MAX (16 * 1024)     /* bytes of raw body per log row */
#define TR_STORE_RETRY_MS 1000  /* after a failure, no new connect before */
#define TR_STORE_CONNECT_MS 5000        /* a connect without a deadline */

enum tr_outcome {
    TR_OUT_SUCCESS,     /* a new sale, stored */
    TR_OUT_DUPLICATE,   /* a sale already stored for this lead */
    TR_OUT_SKIPPED,     /* a lead that is not a sale (pipeline, status) */
    TR_OUT_IGNORED,     /* an event that cannot be a sale */
    TR_OUT_ERROR,       /* unusable input */
};

/* "success", "duplicate", ... as stored in webhook_logs.processing_status. */
const char *tr_outcome_name(enum tr_outcome o);

/* One webhook_logs row, and for a sale the sale itself. */
struct tr_item {
    enum tr_outcome outcome;    /* TR_OUT_SUCCESS for a sale until stored */
    const char *event;          /* "leads.status", "contacts.update", ... */
    int64_t lead_id;            /* 0: none */
    char reason[160];           /* skipped, ignored, error: why */
    int is_sale;                /* stored for the Traffic Dashboard */
    int conversion;             /* recorded in referral_conversions */
    const char *routing;        /* webhook_logs.routing_decision, or NULL */
    const char *referral_code;  /* conversions: utm_source, or NULL */
    const struct tr_lead *lead; /* sales, conversions: the lead */
    const struct tr_rule *rule; /* sales: the targetologist */
    int64_t sale_id;            /* set by tr_store_save for new sales */
};

struct tr_delivery {
    const char *source;         /* "amocrm_traffic" or "amocrm" */
    const char *request_id;     /* NULL when AmoCRM sent none */
    char received_at[40];       /* "2026-11-25 10:00:00.123456+00" */
    const char *log_body;       /* sanitised, bounded body for the log */
    const char *amocrm_base;    /* the account's API from the body, or NULL */
    struct tr_item *items;
    size_t nitems;
};

struct tr_store {
    struct pg_conn *conn;       /* NULL until connected */
    char *url;                  /* owned */
    char appname[64];
    long statement_timeout_ms;
    const struct tr_config *cfg;
    /* the configured chats as PostgreSQL array literals, built once */
    char *chat_ids;             /* {"-100123","@team"} */
    char *thread_ids;           /* {NULL,42} */
    int enrich;                 /* new sales wait for the AmoCRM API */
    /*
     * hold_ms > 0 (a worker, tr_notify_hold): a new sale's statement also
     * claims its messages to the chats that are free, for hold_ms; the
     * results stay in held until tr_notify_send_held sends them.
     */
    long hold_ms;
    struct pg_result *held[8];
    size_t nheld;
    const char *prepared[12];   /* the session's prepared statements */
    size_t nprepared;
    int unprepared;             /* a pooler loses them: never prepare */
    int no_options;             /* a pooler refuses the "options" parameter */
    struct timespec deadline;   /* tr_store_deadline (monotonic); 0: none */
    struct timespec down_until; /* failed: no new connect before this */
    char down_reason[256];
};

/*
 * Fills store for url (copied); nothing is connected yet.  cfg (kept, not
 * owned) gives the chats, currency and product of new sales.  TR_ENOMEM.
 */
enum tr_err tr_store_init(struct tr_store *store, const char *url,
                          const char *appname, const struct tr_config *cfg);

/* Closes the connection and frees what store owns. */
void tr_store_release(struct tr_store *store);

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

/*
 * Cheap liveness check without a round trip: reads what the server may have
 * sent (a termination notice) and reports whether the connection is usable,
 * connecting first if there is none.  Returns 1 for up, 0 for down.
 */
int tr_store_alive(struct tr_store *store);

/*
 * Runs one parameterised statement (params as text, NULL for SQL NULL) on
 * the connection, connecting first.  Returns the result (PQclear() it), or
 * NULL with the reason in msg.
 */
struct pg_result;
struct pg_result *tr_store_query(struct tr_store *store, const char *sql,
                                 int n, const char *const *params, char *msg,
                                 size_t msgsz);

/* tr_store_query for a statement whose result is not needed: TR_EDB. */
enum tr_err tr_store_run(struct tr_store *store, const char *sql, int n,
                         const char *const *params, char *msg, size_t msgsz);

/* tr_store_query for a statement of the sale path (sql static): prepared
 * once per session. */
struct pg_result *tr_store_query_prepared(struct tr_store *store,
                                          const char *sql, int n,
                                          const char *const *params,
                                          char *msg, size_t msgsz);

/*
 * Writes a delivery in one transaction and sets each sale item's outcome to
 * TR_OUT_SUCCESS or TR_OUT_DUPLICATE.  A connection that broke is
 * re-established and the delivery retried once.  TR_EDBDOWN / TR_EDB.
 */
enum tr_err tr_store_save(struct tr_store *store, struct tr_delivery *d,
                          char *msg, size_t msgsz);

/* Forgets the messages held by the last tr_store_save (PQclear). */
void tr_store_drop_held(struct tr_store *store);

/*
 * Applies the pending migrations of sqldir ("NNN_name.sql", lexical order)
 * under an advisory lock, each in its own transaction, recording them in
 * schema_migrations.  Writes one line per file applied to out.
 */
enum tr_err tr_store_migrate(struct tr_store *store, const char *sqldir,
                             FILE *out, char *msg, size_t msgsz);

/*
 * Lists the migrations of sqldir not yet recorded as applied: *pending gets
 * their number.
 */
enum tr_err tr_store_pending_migrations(struct tr_store *store,
                                        const char *sqldir, int *pending,
                                        char *msg, size_t msgsz);

struct tr_logs_filter {
    long limit;                 /* rows, newest first */
    const char *status;         /* processing_status, or NULL */
    int64_t lead_id;            /* 0: any */
    const char *source;         /* or NULL */
};

/* Prints webhook_logs rows matching f as an aligned table. */
enum tr_err tr_store_print_logs(struct tr_store *store,
                                const struct tr_logs_filter *f, FILE *out,
                                char *msg, size_t msgsz);

/*
 * Deletes everything about lead_id (sales, outbox, logs) in one transaction
 * and writes what it removed to out.
 */
enum tr_err tr_store_purge_lead(struct tr_store *store, int64_t lead_id,
                                FILE *out, char *msg, size_t msgsz);

/*
 * Deletes the webhook_logs rows older than seconds; *removed gets how many.
 */
enum tr_err tr_store_prune_logs(struct tr_store *store, long long seconds,
                                long *removed, char *msg, size_t msgsz);

/* A stored sale, as the message needs it; strings owned (tr_sale_release). */
struct tr_sale {
    char *lead_name, *contact_name, *amount, *currency, *product,
        *targetologist, *emoji, *campaign, *source, *notification_status;
};

/*
 * Reads the sale of lead_id from sales_notifications into sale.
 * TR_EINVAL (msg says so) when there is none.
 */
enum tr_err tr_store_get_sale(struct tr_store *store, int64_t lead_id,
                              struct tr_sale *sale, char *msg, size_t msgsz);

/* Frees what sale owns. */
void tr_sale_release(struct tr_sale *sale);

/*
 * Formats a CLOCK_REALTIME time as the timestamptz text the store takes.
 */
void tr_store_timestamp(char *buf, size_t bufsz, long long sec, long nsec);

/*
 * Copies at most max bytes of n bytes of s into dst as valid UTF-8 text
 * without NUL bytes (each bad byte becomes U+FFFD), noting a truncation.
 */
struct tr_buf;
enum tr_err tr_store_sanitize(struct tr_buf *dst, const char *s, size_t n,
                              size_t max);

#endif
