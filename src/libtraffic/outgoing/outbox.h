/*
 * outbox.h: the Telegram outbox's state machine (notification_outbox,
 * telegram_chats), the one home of its steps:
 *
 *   pending --claim--> leased --record--> sent | pending (retry) | failed
 *      ^                  |                     (edits and replies of a
 *      +---release--------+                      sale message then due)
 *
 * Its SQL: the claim in src/libtraffic/statements/claim.sql, the record after a
 * send in sql/functions/traffic_outbox_record.sql (and _batch.sql for a
 * combined message), the rest in statements/outbox_*.sql; a sale's changes add
 * edits and replies in sql/functions/traffic_sale_apply.sql.
 *
 * A new sale's statement writes one outbox row per configured chat.  A
 * message is sent by whoever claims its row: the claim holds the chat for a
 * lease (one message in flight per chat, a sender that died is replaced
 * when the lease ends) and traffic_outbox_record ends the lease with the
 * outcome and paces the chat's next message.  This module is the SQL side
 * of that; notify.c does the sending.
 *
 * A claimed message is a struct tr_claim, read by column name from what
 * claim.sql returns, so the claim columns are written down once: in
 * tr_claims_take.
 */
#ifndef TR_OUTBOX_H
#define TR_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/err.h"
#include "intake/item.h"
#include "outgoing/render.h"

struct tr_rows;
struct tr_store;

#define TR_CLAIMS_MAX (TR_NEW_SALES_MAX * TR_CHATS_MAX)

/* One claimed message: its row, its chat and its sale, as sent. */
/* What a claimed message is. */
enum tr_claim_kind {
    TR_CLAIM_SALE,   /* the sale's own message */
    TR_CLAIM_EDIT,   /* that message again, edited: a new price */
    TR_CLAIM_REPLY,  /* a reply to it: reversed, restored */
    TR_CLAIM_DIGEST, /* the day's summary (body), no sale */
};

struct tr_claim {
    const char *id; /* notification_outbox.id */
    enum tr_claim_kind kind;
    const char *chat;
    int64_t thread; /* 0: none */
    int64_t lead;
    long attempts;            /* this one included */
    int64_t target;           /* edit, reply: the sale message's id */
    int64_t target_batch;     /* edit: its combined message's first row */
    int batch_size;           /* a combined message's first claim: how many
                               * claims follow in it, itself included */
    const char *body;         /* digest: the text (HTML) */
    const char *event_kind;   /* reply: "reversed" or "restored" */
    const char *event_detail; /* its JSON (sale_events.detail) */
    const char *lead_name;    /* the deal's name, or NULL */
    struct tr_sale_view view;
};

/* Claimed messages, their strings in the results kept here. */
struct tr_claims {
    struct tr_claim v[TR_CLAIMS_MAX];
    size_t n;
    struct tr_rows *res[TR_NEW_SALES_MAX]; /* owned */
    size_t nres;
};

/* Fills an empty set. */
void tr_claims_init(struct tr_claims *c);

/* Forgets every claim and frees the results; c can be used again. */
void tr_claims_release(struct tr_claims *c);

/*
 * Takes the claimed messages in the rows of res (those whose outbox_id is
 * not NULL) and keeps res while it holds one, else clears it.  TR_EDB when
 * res lacks a claim column (res is cleared).
 */
enum tr_err tr_claims_take(struct tr_claims *c, struct tr_rows *res, char *msg,
                           size_t msgsz);

/*
 * TR_OK when a result (or a statement's description) has every claim
 * column, else TR_EDB naming the first one missing.
 */
enum tr_err tr_claims_check(const struct tr_rows *res, char *msg, size_t msgsz);

/*
 * TR_OK when a result (or a statement's description) has every column of
 * a sale's view (tr_outbox_read_view), else TR_EDB naming the first one
 * missing.
 */
enum tr_err tr_outbox_check_view(const struct tr_rows *res, char *msg,
                                 size_t msgsz);

/*
 * Reads the sale's view of row of res (the claim columns from "client" on:
 * a claim's, or a stored sale's from sale_view.sql); the strings point into
 * res.  TR_EDB when a column is missing.
 */
enum tr_err tr_outbox_read_view(const struct tr_rows *res, int row,
                                struct tr_sale_view *v, char *msg,
                                size_t msgsz);

/* How long a claim holds a message and its chat: a send and its one
 * resend, with room to record the outcome. */
long tr_outbox_lease_ms(const struct tr_config *cfg);

/*
 * Makes the configured chats known for claims, and with sweep also every
 * chat that has pending messages (a chat no longer configured).
 */
enum tr_err tr_outbox_know_chats(struct tr_store *store,
                                 const struct tr_chat_lists *lists, int sweep,
                                 char *msg, size_t msgsz);

/*
 * Claims the next message of a free chat (the oldest due, or up to ten
 * sales for one combined message past cfg's TELEGRAM_BATCH_AFTER) for the
 * lease, in a chat of the given leads (at most TR_NEW_SALES_MAX) or with
 * leads NULL any chat, into c (which must have room).  *got is 1 when there
 * was one.  TR_EDB.
 */
enum tr_err tr_outbox_claim(struct tr_store *store, const struct tr_config *cfg,
                            const int64_t *leads, size_t nleads,
                            struct tr_claims *c, int *got, char *msg,
                            size_t msgsz);

/* What a send came to, as traffic_outbox_record takes it. */
struct tr_send_outcome {
    const char *outcome;  /* "sent", "retry" or "failed" */
    int64_t message_id;   /* when sent */
    const char *error;    /* or a note; NULL: none */
    long delay_ms;        /* retry: when to try again */
    const char *moved_to; /* the chat Telegram moved it to, or NULL */
};

/*
 * Records the outcome of claim's send, ending its lease and pacing its
 * chat by cfg; status gets the row's new status ("sent", "pending",
 * "failed", or "gone" when it was purged meanwhile).  With n > 1 the send
 * was the combined message of the n claims from claim on (at most
 * TR_RENDER_BATCH_MAX): each gets the outcome, the chat is paced once.
 * TR_EDB.
 */
enum tr_err tr_outbox_record(struct tr_store *store,
                             const struct tr_config *cfg,
                             const struct tr_claim *claim, size_t n,
                             const struct tr_send_outcome *o, char *status,
                             size_t statussz, char *msg, size_t msgsz);

/* Gives back n claims from c unsent (not counted as attempts). */
enum tr_err tr_outbox_release(struct tr_store *store, const struct tr_claim *c,
                              size_t n, char *msg, size_t msgsz);

/*
 * The lines of the combined message whose first row is batch, as they are
 * stored now, into lines (*n of them, 0 when fewer than two: the seed's
 * message then), their strings in *res (tr_rows_free it).  TR_EDB.
 */
enum tr_err tr_outbox_batch_lines(struct tr_store *store, int64_t batch,
                                  struct tr_rows **res,
                                  struct tr_sale_view *lines, size_t *n,
                                  char *msg, size_t msgsz);

/*
 * Makes every pending message due now (the operator fixed Telegram and
 * wants no more backoff); pacing and messages in flight are kept.  *rows
 * gets how many were waiting.
 */
enum tr_err tr_outbox_retry_now(struct tr_store *store, long *rows, char *msg,
                                size_t msgsz);

/*
 * Queues lead_id's message again for every chat of lists, whatever
 * happened to it before (the operator's resend): *rows gets the number of
 * chats.  TR_EINVAL when no sale is stored for lead_id.
 */
enum tr_err tr_outbox_resend(struct tr_store *store,
                             const struct tr_chat_lists *lists, int64_t lead_id,
                             long *rows, char *msg, size_t msgsz);

/*
 * What is still pending: *due the messages whose own time has come (held
 * back only by a chat's pacing or a lease), *pending all of them, *wait the
 * seconds until the next one can go (0 when one can go now; -1 without
 * pending messages).
 */
enum tr_err tr_outbox_pending(struct tr_store *store, long *due, long *pending,
                              double *wait, char *msg, size_t msgsz);

/*
 * PostgreSQL plans with what its last ANALYZE saw, and the outbox's pending
 * rows come in bursts no autovacuum threshold sees (a tenth of the table).
 * When pending (from tr_outbox_pending) is at least TR_OUTBOX_ANALYZE_MIN and
 * the planner counts on under a quarter of them (outbox_planned.sql),
 * ANALYZEs the outbox: planned[0] what it counted on, planned[1] what it
 * counts on after (the same when the ANALYZE was skipped: a VACUUM under way,
 * a role that does not own the table), *ms how long the ANALYZE took (-1:
 * none was needed).  TR_EDB.
 */
#define TR_OUTBOX_ANALYZE_MIN 1000
enum tr_err tr_outbox_analyze(struct tr_store *store, long pending,
                              double planned[2], long *ms, char *msg,
                              size_t msgsz);

/* Counts the pending and the failed messages (traffic-ctl check). */
enum tr_err tr_outbox_counts(struct tr_store *store, long *pending,
                             long *failed, char *msg, size_t msgsz);

#endif
