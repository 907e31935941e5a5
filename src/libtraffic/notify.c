/*
 * notify.c: claiming outbox rows, sending them, recording the outcome.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "leads.h"
#include "notify.h"
#include "render.h"
#include "store.h"

#define BACKOFF_MAX_MS (3600L * 1000)

/*
 * CLAIM_SQL takes the oldest due message of one chat that is not held or
 * paced (a
 * sale waiting for the AmoCRM API has its rows due at 'infinity' until
 * tr_enrich is done with it).  The
 * chat's row is locked SKIP LOCKED, so concurrent claimers take other chats
 * and nobody waits; the chat is then held for the lease, which the outcome
 * (traffic_outbox_record) ends.
 */
#define CLAIM_SQL(only)                                                      \
    "WITH chat AS ("                                                         \
    " SELECT c.chat_id FROM telegram_chats c"                                \
    " WHERE c.next_at <= now() AND EXISTS (SELECT 1 FROM notification_outbox o" \
    "  WHERE o.chat_id = c.chat_id AND o.status = 'pending'" only            \
    "  AND o.next_attempt_at <= now()"                                       \
    "  AND (o.lease_until IS NULL OR o.lease_until < now()))"                \
    " ORDER BY c.next_at LIMIT 1 FOR UPDATE SKIP LOCKED"                     \
    "), pick AS ("                                                           \
    " SELECT o.id FROM notification_outbox o"                                \
    " WHERE o.chat_id = (SELECT chat_id FROM chat)" only                     \
    "  AND o.status = 'pending' AND o.next_attempt_at <= now()"              \
    "  AND (o.lease_until IS NULL OR o.lease_until < now())"                 \
    " ORDER BY o.next_attempt_at, o.id LIMIT 1"                              \
    "), claim AS ("                                                          \
    " UPDATE notification_outbox o"                                          \
    " SET lease_until = now() + $1 * interval '1 millisecond',"              \
    "  attempts = o.attempts + 1"                                            \
    " FROM pick WHERE o.id = pick.id"                                        \
    " RETURNING o.id, o.sale_id, o.chat_id, o.thread_id, o.attempts"         \
    "), hold AS ("                                                           \
    " UPDATE telegram_chats c SET next_at = now() + $1 * interval"           \
    "  '1 millisecond' FROM claim WHERE c.chat_id = claim.chat_id"           \
    ")"                                                                      \
    " SELECT claim.id, claim.chat_id, coalesce(claim.thread_id, 0),"         \
    "  claim.attempts, s.lead_id, s.contact_name,"                           \
    "  trim_scale(s.sale_amount)::text, s.currency, s.product_name,"         \
    "  s.targetologist, s.targetologist_emoji, s.utm_campaign"               \
    " FROM claim JOIN sales_notifications s ON s.id = claim.sale_id"

/*
 * The worker's claim takes only its own new sales' rows: found through the
 * lead_id index, it never walks the queue (whose partial index fills with
 * dead entries under load); the backlog is the sidecar's.
 */
static const char claim_sql[] = CLAIM_SQL("");
static const char claim_own_sql[] =
    CLAIM_SQL(" AND o.lead_id = ANY ($2::bigint[])");

static const char record_sql[] =
    "SELECT traffic_outbox_record($1::bigint, $2, $3::bigint, $4,"
    " $5::bigint, $6, $7::integer, $8::integer, $9::integer, $10::integer)";

/* The configured chats, or every chat with pending rows (sweep). */
static const char chats_sql[] =
    "INSERT INTO telegram_chats (chat_id) SELECT unnest($1::text[])"
    " ON CONFLICT DO NOTHING";
static const char sweep_sql[] =
    "INSERT INTO telegram_chats (chat_id) SELECT DISTINCT chat_id"
    " FROM notification_outbox WHERE status = 'pending'"
    " ON CONFLICT DO NOTHING";

enum tr_err
tr_notify_init(struct tr_notify *n, const struct tr_config *cfg,
               struct tr_store *store, void (*log)(void *, const char *),
               void *log_arg)
{
    memset(n, 0, sizeof(*n));
    n->cfg = cfg;
    n->store = store;
    n->log = log;
    n->log_arg = log_arg;
    n->enabled = cfg->telegram_bot_token != NULL && cfg->nchats > 0;
    if (!n->enabled)
        return TR_OK;
    return tr_telegram_init(&n->tg, cfg->telegram_api_base,
                            cfg->telegram_bot_token, cfg->tg_timeout_ms);
}

void
tr_notify_release(struct tr_notify *n)
{
    if (n->enabled)
        tr_telegram_release(&n->tg);
    memset(n, 0, sizeof(*n));
}

static void __attribute__((format(printf, 2, 3)))
say(struct tr_notify *n, const char *fmt, ...)
{
    char line[768];
    va_list ap;

    if (n->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    n->log(n->log_arg, line);
}

static enum tr_err
know_chats(struct tr_notify *n, int sweep, char *msg, size_t msgsz)
{
    const char *p[1] = {n->store->chat_ids};
    enum tr_err err = TR_OK;

    if (!n->chats_known) {
        if ((err = tr_store_run(n->store, chats_sql, 1, p, msg, msgsz)) !=
            TR_OK)
            return err;
        n->chats_known = 1;
    }
    if (sweep)
        err = tr_store_run(n->store, sweep_sql, 0, NULL, msg, msgsz);
    return err;
}

/* One claimed row, as the claim statement returns it. */
struct claimed {
    const char *id, *chat;
    int64_t thread, lead;
    long attempts;
    struct tr_sale_view view;
};

static const char *
field(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* Reads a claimed row: CLAIM_SQL's twelve columns from column col on. */
static void
claimed_row(PGresult *res, int row, int col, struct claimed *c)
{
    memset(c, 0, sizeof(*c));
    c->id = PQgetvalue(res, row, col);
    c->chat = PQgetvalue(res, row, col + 1);
    c->thread = strtoll(PQgetvalue(res, row, col + 2), NULL, 10);
    c->attempts = strtol(PQgetvalue(res, row, col + 3), NULL, 10);
    c->lead = strtoll(PQgetvalue(res, row, col + 4), NULL, 10);
    c->view.client = field(res, row, col + 5);
    c->view.price = field(res, row, col + 6);
    c->view.currency = field(res, row, col + 7);
    c->view.product = field(res, row, col + 8);
    c->view.targetologist = field(res, row, col + 9);
    c->view.emoji = field(res, row, col + 10);
    c->view.campaign = field(res, row, col + 11);
}

/* A send and its one resend, with room to record the outcome. */
static long
lease_ms(const struct tr_notify *n)
{
    return 2 * n->cfg->tg_timeout_ms + 2000;
}

static enum tr_err
record(struct tr_notify *n, const struct claimed *c, const char *outcome,
       int64_t message_id, const char *error, long delay_ms,
       const char *chat, char *status, size_t statussz, char *msg,
       size_t msgsz)
{
    const struct tr_config *cfg = n->cfg;
    char mid[24], delay[24], interval[24], group[24], attempts[24], age[24];
    const char *p[10];
    PGresult *res;

    snprintf(mid, sizeof(mid), "%" PRId64, message_id);
    snprintf(delay, sizeof(delay), "%ld", delay_ms);
    snprintf(interval, sizeof(interval), "%ld", cfg->tg_chat_interval_ms);
    snprintf(group, sizeof(group), "%ld", cfg->tg_group_per_minute);
    snprintf(attempts, sizeof(attempts), "%ld", cfg->tg_max_attempts);
    snprintf(age, sizeof(age), "%ld", cfg->tg_max_age_s);
    p[0] = c->id;
    p[1] = outcome;
    p[2] = message_id ? mid : NULL;
    p[3] = error;
    p[4] = delay;
    p[5] = chat;
    p[6] = interval;
    p[7] = group;
    p[8] = attempts;
    p[9] = age;
    if ((res = tr_store_query_prepared(n->store, record_sql, 10, p, msg,
                                       msgsz)) == NULL)
        return TR_EDB;
    snprintf(status, statussz, "%s",
             PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)
                 ? PQgetvalue(res, 0, 0) : "gone");
    PQclear(res);
    return TR_OK;
}

static long
backoff_ms(const struct tr_config *cfg, long attempts, long retry_after)
{
    long ms = cfg->tg_retry_base_ms;

    if (retry_after > 0)
        return retry_after * 1000;
    while (--attempts > 0 && ms < BACKOFF_MAX_MS)
        ms *= 2;
    return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

/* Sends one claimed message and records what happened. */
static enum tr_err
send_one(struct tr_notify *n, struct claimed *c, struct tr_notify_stats *st,
         char *msg, size_t msgsz)
{
    struct tr_tg_result r;
    char *html = NULL, *plain = NULL, note[320], status[16];
    const char *chat = c->chat, *outcome, *error = NULL;
    char moved[sizeof(r.migrate_to)] = "";
    long delay = 0;
    enum tr_err err;
    int as_html = 1;

    if (tr_render_message(&c->view, 1, &html) != TR_OK) {
        err = tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
        goto out;
    }
    if ((err = tr_telegram_send(&n->tg, chat, c->thread, html, 1, &r)) !=
        TR_OK)
        goto out;
    note[0] = '\0';
    if (r.outcome == TR_TG_MIGRATED) {
        /* the group became a supergroup: the message was not sent */
        snprintf(moved, sizeof(moved), "%s", r.migrate_to);
        chat = moved;
        snprintf(note, sizeof(note), "chat %s migrated to %s: put %s in "
                 "TELEGRAM_CHAT_IDS", c->chat, moved, moved);
        say(n, "telegram: %s", note);
        if ((err = tr_telegram_send(&n->tg, chat, c->thread, html, 1, &r)) !=
            TR_OK)
            goto out;
    }
    if (r.outcome == TR_TG_PLAIN) {
        /* nothing was sent: once more without parse mode */
        say(n, "telegram: lead %" PRId64 " chat %s: %s; resending as plain "
            "text", c->lead, chat, r.description);
        as_html = 0;
        if (tr_render_message(&c->view, 0, &plain) != TR_OK) {
            err = tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
            goto out;
        }
        if ((err = tr_telegram_send(&n->tg, chat, c->thread, plain, 0, &r)) !=
            TR_OK)
            goto out;
        if (r.outcome == TR_TG_SENT)
            snprintf(note, sizeof(note), "sent as plain text: Telegram "
                     "could not parse the HTML");
    }
    switch (r.outcome) {
    case TR_TG_SENT:
        outcome = "sent";
        error = note[0] ? note : NULL;
        st->sent++;
        break;
    case TR_TG_RETRY:
        outcome = "retry";
        delay = backoff_ms(n->cfg, c->attempts, r.retry_after);
        error = r.description;
        break;
    default:
        /* a second migration, or plain text refused too: give up */
        outcome = "failed";
        error = r.description;
        break;
    }
    if ((err = record(n, c, outcome, r.message_id, error, delay,
                      chat != c->chat ? chat : NULL, status, sizeof(status),
                      msg, msgsz)) != TR_OK)
        goto out;
    if (r.outcome == TR_TG_SENT) {
        say(n, "telegram: lead %" PRId64 " chat %s: sent%s, message_id %"
            PRId64 " (%.0f ms)", c->lead, chat, as_html ? "" : " as plain text",
            r.message_id, n->tg.http.seconds * 1000);
    } else if (strcmp(status, "pending") == 0) {
        st->retried++;
        say(n, "telegram: lead %" PRId64 " chat %s: attempt %ld failed "
            "(%s); next in %ld ms", c->lead, chat, c->attempts, error, delay);
    } else {
        st->failed++;
        say(n, "telegram: lead %" PRId64 " chat %s: failed for good after "
            "%ld attempt%s: %s", c->lead, chat, c->attempts,
            c->attempts == 1 ? "" : "s", error);
    }
out:
    free(html);
    free(plain);
    return err;
}

enum tr_err
tr_notify_deliver(struct tr_notify *n, size_t max, const int64_t *leads,
                  size_t nleads, struct tr_notify_stats *st, char *msg,
                  size_t msgsz)
{
    char lease[24], ids[8 * 24 + 4];
    const char *p[2] = {lease, ids};
    size_t i, o;
    PGresult *res;
    struct claimed c;
    enum tr_err err;
    size_t done;

    if (!n->enabled)
        return TR_OK;
    if ((err = know_chats(n, leads == NULL, msg, msgsz)) != TR_OK)
        return err;
    if (nleads > 8)
        nleads = 8;
    o = (size_t)snprintf(ids, sizeof(ids), "{");
    for (i = 0; i < nleads; i++)
        o += (size_t)snprintf(ids + o, sizeof(ids) - o, "%s%" PRId64,
                              i ? "," : "", leads[i]);
    snprintf(ids + o, sizeof(ids) - o, "}");
    snprintf(lease, sizeof(lease), "%ld", lease_ms(n));
    for (done = 0; done < max; done++) {
        res = leads != NULL ? tr_store_query_prepared(n->store, claim_own_sql,
                                                      2, p, msg, msgsz)
                            : tr_store_query_prepared(n->store, claim_sql, 1,
                                                      p, msg, msgsz);
        if (res == NULL)
            return TR_EDB;
        if (PQntuples(res) == 0) {
            PQclear(res);
            break;
        }
        claimed_row(res, 0, 0, &c);
        err = send_one(n, &c, st, msg, msgsz);
        PQclear(res);
        if (err != TR_OK)
            return err;
    }
    return TR_OK;
}

void
tr_notify_hold(struct tr_notify *n)
{
    n->store->hold_ms = n->enabled ? lease_ms(n) : 0;
}

enum tr_err
tr_notify_send_held(struct tr_notify *n, struct tr_notify_stats *st,
                    char *msg, size_t msgsz)
{
    struct tr_store *store = n->store;
    enum tr_err err = TR_OK;
    struct claimed c;
    size_t i;
    int row;

    for (i = 0; i < store->nheld && err == TR_OK; i++) {
        PGresult *res = store->held[i];

        for (row = 0; row < PQntuples(res) && err == TR_OK; row++) {
            if (PQgetisnull(res, row, 2))
                continue;
            claimed_row(res, row, 2, &c);
            err = send_one(n, &c, st, msg, msgsz);
        }
    }
    tr_store_drop_held(store);
    return err;
}

/* Runs a statement returning one row of n numbers into v. */
static enum tr_err
numbers(struct tr_store *store, const char *sql, double *v, int n, char *msg,
        size_t msgsz)
{
    PGresult *res = tr_store_query(store, sql, 0, NULL, msg, msgsz);
    int i;

    if (res == NULL)
        return TR_EDB;
    for (i = 0; i < n; i++)
        v[i] = strtod(PQgetvalue(res, 0, i), NULL);
    PQclear(res);
    return TR_OK;
}

enum tr_err
tr_notify_retry_now(struct tr_notify *n, long *rows, char *msg, size_t msgsz)
{
    double v[1] = {0};
    enum tr_err err;

    *rows = 0;
    err = numbers(n->store,
        "WITH r AS ("
        " UPDATE notification_outbox SET next_attempt_at = now()"
        " WHERE status = 'pending' AND next_attempt_at > now()"
        "  AND next_attempt_at <> 'infinity'"
        "  AND (lease_until IS NULL OR lease_until < now())"
        " RETURNING chat_id"
        "), c AS ("
        " UPDATE telegram_chats c SET next_at = now()"
        " WHERE c.next_at > now() AND c.chat_id IN (SELECT chat_id FROM r)"
        "  AND NOT EXISTS (SELECT 1 FROM notification_outbox o"
        "   WHERE o.chat_id = c.chat_id AND o.lease_until > now())"
        ")"
        " SELECT count(*) FROM r", v, 1, msg, msgsz);
    *rows = (long)v[0];
    return err;
}

enum tr_err
tr_notify_resend(struct tr_notify *n, int64_t lead_id, long *rows, char *msg,
                 size_t msgsz)
{
    char lead[24];
    const char *p[3] = {lead, n->store->chat_ids, n->store->thread_ids};
    PGresult *res;

    *rows = 0;
    snprintf(lead, sizeof(lead), "%" PRId64, lead_id);
    res = tr_store_query(n->store,
        "WITH s AS ("
        " UPDATE sales_notifications SET notification_status = 'pending',"
        "  notified_at = NULL, updated_at = now()"
        " WHERE lead_id = $1 RETURNING id, lead_id"
        ")"
        " INSERT INTO notification_outbox (sale_id, lead_id, chat_id,"
        "  thread_id, last_error)"
        " SELECT s.id, s.lead_id, c.chat_id, c.thread_id, 'resent by the"
        "  operator' FROM s, unnest($2::text[], $3::bigint[])"
        "  AS c(chat_id, thread_id)"
        " ON CONFLICT (sale_id, chat_id, coalesce(thread_id, 0)) DO UPDATE"
        " SET status = 'pending', attempts = 0, next_attempt_at = now(),"
        "  lease_until = NULL, sent_at = NULL,"
        "  last_error = 'resent by the operator'"
        " RETURNING id", 3, p, msg, msgsz);
    if (res == NULL)
        return TR_EDB;
    *rows = PQntuples(res);
    PQclear(res);
    if (*rows == 0)
        return tr_fail(msg, msgsz, TR_EINVAL, "no sale for lead %s", lead);
    return TR_OK;
}

enum tr_err
tr_notify_pending(struct tr_notify *n, long *due, long *pending, double *wait,
                  char *msg, size_t msgsz)
{
    double v[3] = {0, 0, -1};
    enum tr_err err;

    err = numbers(n->store,
        "SELECT count(*) FILTER (WHERE o.next_attempt_at <= now()),"
        " count(*), coalesce(greatest(0, extract(epoch FROM"
        "  min(greatest(o.next_attempt_at, c.next_at, o.lease_until))"
        "  FILTER (WHERE o.next_attempt_at < 'infinity') - now())), -1)"
        " FROM notification_outbox o LEFT JOIN telegram_chats c USING (chat_id)"
        " WHERE o.status = 'pending'", v, 3, msg, msgsz);
    *due = (long)v[0];
    *pending = (long)v[1];
    *wait = v[2];
    return err;
}

enum tr_err
tr_notify_counts(struct tr_store *store, long *pending, long *failed,
                 char *msg, size_t msgsz)
{
    double v[2] = {0, 0};
    enum tr_err err;

    err = numbers(store,
        "SELECT count(*) FILTER (WHERE status = 'pending'),"
        " count(*) FILTER (WHERE status = 'failed') FROM notification_outbox",
        v, 2, msg, msgsz);
    *pending = (long)v[0];
    *failed = (long)v[1];
    return err;
}

enum tr_err
tr_notify_render(struct tr_store *store, int64_t lead_id, int html,
                 char **text, char **status, char *msg, size_t msgsz)
{
    struct tr_sale sale;
    struct tr_sale_view v;
    enum tr_err err;

    *text = NULL;
    if (status != NULL)
        *status = NULL;
    if ((err = tr_store_get_sale(store, lead_id, &sale, msg, msgsz)) != TR_OK)
        return err;
    v.emoji = sale.emoji;
    v.targetologist = sale.targetologist;
    v.client = sale.contact_name;
    v.price = sale.amount;
    v.currency = sale.currency;
    v.product = sale.product;
    v.campaign = sale.campaign;
    if (tr_render_message(&v, html, text) != TR_OK)
        err = tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    if (err == TR_OK && status != NULL) {
        *status = strdup(sale.notification_status ? sale.notification_status
                                                  : "?");
        if (*status == NULL) {
            free(*text);
            *text = NULL;
            err = tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
        }
    }
    tr_sale_release(&sale);
    return err;
}
