/*
 * notify.c: one claimed message to Telegram and its outcome; the claim and
 * send loop; the message of a stored sale.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/rows.h"
#include "base/config.h"
#include "base/metrics.h"
#include "outgoing/notify.h"
#include "outgoing/render.h"
#include "sql.h"
#include "db/store.h"

#define BACKOFF_MAX_MS (3600L * 1000)

enum tr_err
tr_notify_init(struct tr_notify *n, const struct tr_config *cfg,
               struct tr_store *store, const struct tr_log *log)
{
    memset(n, 0, sizeof(*n));
    n->cfg = cfg;
    n->store = store;
    if (log != NULL)
        n->log = *log;
    tr_chat_lists(cfg->chats, cfg->nchats, &n->chats);
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

/* The correction a reply is about, from its event's detail. */
static void
correction_of(const struct tr_claim *c, struct tr_correction_view *v,
              struct json_object **tree)
{
    struct json_object *o;

    memset(v, 0, sizeof(*v));
    v->restored =
        c->event_kind != NULL && strcmp(c->event_kind, "restored") == 0;
    v->deal = c->lead_name;
    v->lead_id = (long long)c->lead;
    *tree = c->event_detail ? json_tokener_parse(c->event_detail) : NULL;
    if (*tree == NULL)
        return;
    if (json_object_object_get_ex(*tree, "reason", &o))
        v->reason = json_object_get_string(o);
    if (json_object_object_get_ex(*tree, "status_id", &o))
        v->status_id = (long long)json_object_get_int64(o);
    if (json_object_object_get_ex(*tree, "pipeline_id", &o))
        v->pipeline_id = (long long)json_object_get_int64(o);
}

/*
 * One send: a claimed message, or a combined one (the first claim of it and
 * the claims that follow in it), with the sales' lines it shows: a batch's,
 * or those of the combined message an edit is about (read back, res).
 */
struct job {
    const struct tr_claim *c;
    size_t n; /* claims it records: 1, or the batch's */
    struct tr_sale_view lines[TR_RENDER_BATCH_MAX];
    size_t nlines;       /* 0: not combined */
    struct tr_rows *res; /* owned: an edited combined message's lines */
    char who[TR_RENDER_BATCH_MAX * 22 + 32]; /* "lead 123", for the log */
};

/* The text of a job: the sale's (also for an edit: the same layout, what
 * is stored now), a combined message's, a reply's one line, a summary. */
static enum tr_err
render(const struct job *j, int html, char **out)
{
    const struct tr_claim *c = j->c;
    struct tr_correction_view v;
    struct json_object *tree;
    enum tr_err err;
    size_t fit;

    if (c->kind == TR_CLAIM_DIGEST) {
        *out = html ? strdup(c->body ? c->body : "")
                    : tr_render_plain(c->body ? c->body : "");
        return *out != NULL ? TR_OK : TR_ENOMEM;
    }
    if (c->kind == TR_CLAIM_REPLY) {
        correction_of(c, &v, &tree);
        err = tr_render_correction(&v, &c->view, html, out);
        json_object_put(tree);
        return err;
    }
    if (j->nlines > 1)
        return tr_render_batch(j->lines, j->nlines, html, out, &fit);
    return tr_render_message(&c->view, html, out);
}

/* Sends (or edits) a job's message as HTML or plain text to chat. */
static enum tr_err
send_as(struct tr_notify *n, const struct job *j, const char *chat, int html,
        struct tr_tg_result *r)
{
    const struct tr_claim *c = j->c;
    struct tr_tg_message m;
    char *text = NULL;
    enum tr_err err;

    if (render(j, html, &text) != TR_OK)
        return TR_ENOMEM;
    m.chat = chat;
    m.thread = c->thread;
    m.text = text;
    m.html = html;
    m.reply_to = c->kind == TR_CLAIM_REPLY ? c->target : 0;
    m.edit = c->kind == TR_CLAIM_EDIT ? c->target : 0;
    err = tr_telegram_send(&n->tg, &m, r);
    if (err == TR_OK)
        tr_metrics_telegram((int)r->outcome);
    free(text);
    return err;
}

/*
 * Sends c's text, and sends it again where Telegram asks for that: to the
 * supergroup the group became (*chat then points at moved), and once as
 * plain text when it cannot parse the HTML (*as_html then 0).  note says
 * what happened on the way.  TR_ENOMEM.
 */
static enum tr_err
send_text(struct tr_notify *n, const struct job *j, const char **chat,
          char *moved, size_t movedsz, int *as_html, char *note, size_t notesz,
          struct tr_tg_result *r)
{
    const struct tr_claim *c = j->c;
    enum tr_err err;

    *chat = c->chat;
    *as_html = 1;
    note[0] = '\0';
    err = send_as(n, j, *chat, 1, r);
    if (err == TR_OK && r->outcome == TR_TG_MIGRATED) {
        /* the group became a supergroup: the message was not sent */
        snprintf(moved, movedsz, "%s", r->migrate_to);
        *chat = moved;
        snprintf(note, notesz,
                 "chat %s migrated to %s: put %s in "
                 "TELEGRAM_CHAT_IDS",
                 c->chat, moved, moved);
        tr_log_say(&n->log, "telegram: %s", note);
        err = send_as(n, j, *chat, 1, r);
    }
    if (err == TR_OK && r->outcome == TR_TG_PLAIN) {
        /* nothing was sent: once more without parse mode */
        tr_log_warn(&n->log,
                    "telegram: %s chat %s: %s; "
                    "resending as plain text",
                    j->who, *chat, r->description);
        *as_html = 0;
        err = send_as(n, j, *chat, 0, r);
        if (err == TR_OK && r->outcome == TR_TG_SENT)
            snprintf(note, notesz,
                     "sent as plain text: Telegram could not "
                     "parse the HTML");
    }
    if (err == TR_OK && r->outcome == TR_TG_MOOT)
        snprintf(note, notesz, "not edited: %s", r->description);
    return err;
}

/* The log line of a recorded outcome, and its count in st. */
static void
tell(struct tr_notify *n, const struct job *j, const char *chat,
     const struct tr_tg_result *r, const struct tr_send_outcome *o, int as_html,
     const char *status, struct tr_notify_stats *st)
{
    static const char *const what[] = {"", " edit", " reply", ""};
    const struct tr_claim *c = j->c;

    if (r->outcome == TR_TG_MOOT) {
        st->sent += j->n;
        tr_log_say(&n->log, "telegram: %s chat %s: %s", j->who, chat, o->error);
    } else if (r->outcome == TR_TG_SENT) {
        st->sent += j->n;
        tr_log_say(&n->log,
                   "telegram: %s chat %s:%s sent%s, "
                   "message_id %" PRId64 " (%.0f ms)",
                   j->who, chat, what[c->kind], as_html ? "" : " as plain text",
                   r->message_id, n->tg.http.seconds * 1000);
    } else if (strcmp(status, "pending") == 0) {
        st->retried += j->n;
        tr_log_warn(&n->log,
                    "telegram: %s chat %s: attempt "
                    "%ld failed (%s); next in %ld ms",
                    j->who, chat, c->attempts, o->error, o->delay_ms);
    } else {
        st->failed += j->n;
        tr_log_error(&n->log,
                     "telegram: %s chat %s: failed for "
                     "good after %ld attempt%s: %s",
                     j->who, chat, c->attempts, c->attempts == 1 ? "" : "s",
                     o->error);
    }
}

/* Sends one job and records what happened, for each of its claims. */
static enum tr_err
send_one(struct tr_notify *n, const struct job *j, struct tr_notify_stats *st,
         char *msg, size_t msgsz)
{
    const struct tr_claim *c = j->c;
    struct tr_tg_result r;
    struct tr_send_outcome o = {"failed", 0, NULL, 0, NULL};
    char moved[sizeof(r.migrate_to)] = "", note[320], status[16];
    const char *chat;
    enum tr_err err;
    int as_html;

    if (send_text(n, j, &chat, moved, sizeof(moved), &as_html, note,
                  sizeof(note), &r) != TR_OK)
        return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    switch (r.outcome) {
    case TR_TG_SENT:
    case TR_TG_MOOT:
        /* an edit Telegram did not need is done with, not an error */
        o.outcome = "sent";
        o.message_id = c->kind == TR_CLAIM_SALE ? r.message_id : 0;
        o.error = note[0] ? note : NULL;
        break;
    case TR_TG_RETRY:
        o.outcome = "retry";
        o.delay_ms = backoff_ms(n->cfg, c->attempts, r.retry_after);
        o.error = r.description;
        break;
    default:
        /* a second migration, or plain text refused too: give up */
        o.error = r.description;
        break;
    }
    o.moved_to = chat != c->chat ? chat : NULL;
    if ((err = tr_outbox_record(n->store, n->cfg, c, j->n, &o, status,
                                sizeof(status), msg, msgsz)) != TR_OK)
        return err;
    tell(n, j, chat, &r, &o, as_html, status, st);
    return TR_OK;
}

/*
 * The job of claims->v[i]: *span gets how many claims it covers.  A batch
 * keeps the sales that fit one message (those that do not are released
 * for the next one); an edit of a combined message reads its lines back.
 */
static enum tr_err
prepare(struct tr_notify *n, const struct tr_claims *claims, size_t i,
        struct job *j, size_t *span, char *msg, size_t msgsz)
{
    const struct tr_claim *c = &claims->v[i];
    enum tr_err err = TR_OK;
    size_t k, o;
    char *text;

    memset(j, 0, sizeof(*j));
    j->c = c;
    j->n = *span = 1;
    if (c->batch_size > 1) {
        *span = (size_t)c->batch_size < claims->n - i ? (size_t)c->batch_size
                                                      : claims->n - i;
        for (k = 0; k < *span && k < TR_RENDER_BATCH_MAX; k++)
            j->lines[k] = claims->v[i + k].view;
        if (tr_render_batch(j->lines, k, 0, &text, &j->n) != TR_OK)
            return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
        free(text);
        if (j->n < *span)
            err =
                tr_outbox_release(n->store, c + j->n, *span - j->n, msg, msgsz);
        j->nlines = j->n > 1 ? j->n : 0;
    } else if (c->kind == TR_CLAIM_EDIT && c->target_batch != 0) {
        err = tr_outbox_batch_lines(n->store, c->target_batch, &j->res,
                                    j->lines, &j->nlines, msg, msgsz);
    }
    if (c->kind == TR_CLAIM_DIGEST) {
        snprintf(j->who, sizeof(j->who), "the daily summary");
        return err;
    }
    o = (size_t)snprintf(j->who, sizeof(j->who), "lead%s %" PRId64,
                         j->n > 1 ? "s" : "", c->lead);
    for (k = 1; k < j->n; k++)
        o += (size_t)snprintf(j->who + o, sizeof(j->who) - o, ",%" PRId64,
                              c[k].lead);
    if (j->n > 1)
        snprintf(j->who + o, sizeof(j->who) - o, " (one message)");
    return err;
}

/*
 * Sends and records every message of claims (claim.sql's), adding the
 * outcomes to st, and releases them.  TR_EDB / TR_EDBDOWN when an outcome
 * cannot be recorded (the row goes out again after its lease).
 */
static enum tr_err
send_claimed(struct tr_notify *n, struct tr_claims *claims,
             struct tr_notify_stats *st, char *msg, size_t msgsz)
{
    enum tr_err err = TR_OK;
    struct job j;
    size_t i, span;

    for (i = 0; i < claims->n && err == TR_OK; i += span) {
        if ((err = prepare(n, claims, i, &j, &span, msg, msgsz)) == TR_OK)
            err = send_one(n, &j, st, msg, msgsz);
        tr_rows_free(j.res);
    }
    tr_claims_release(claims);
    return err;
}

/*
 * A session keeps the plans it made while the outbox was small (a new
 * install, the start of a burst): a scan of the whole table for the ten
 * rows a claim takes, once it holds tens of thousands.  Each time the
 * outbox has grown fourfold they are made again, at its size then.
 */
static void
replan(struct tr_notify *n, const struct tr_claims *c)
{
    char msg[256];
    int64_t top = 0, id;
    size_t i;

    for (i = 0; i < c->n; i++)
        if ((id = strtoll(c->v[i].id, NULL, 10)) > top)
            top = id;
    if (top < TR_NOTIFY_REPLAN_MIN || top / 4 < n->planned_at ||
        tr_store_run(n->store, "DISCARD PLANS", 0, NULL, msg, sizeof(msg)) !=
            TR_OK)
        return; /* failed: tried again at the next claim */
    n->planned_at = top;
    tr_log_say(&n->log, "outbox: past id %" PRId64 ", plans made again", top);
}

enum tr_err
tr_notify_deliver(struct tr_notify *n, size_t max, const int64_t *leads,
                  size_t nleads, struct tr_notify_stats *st, char *msg,
                  size_t msgsz)
{
    struct tr_claims c;
    enum tr_err err = TR_OK;
    size_t done;
    int got = 1;

    if (!n->enabled)
        return TR_OK;
    if ((err = tr_outbox_know_chats(n->store, &n->chats, leads == NULL, msg,
                                    msgsz)) != TR_OK)
        return err;
    n->chats_known = 1;
    tr_claims_init(&c);
    for (done = 0; done < max && got && err == TR_OK; done++) {
        err = tr_outbox_claim(n->store, n->cfg, leads, nleads, &c, &got, msg,
                              msgsz);
        if (err == TR_OK && got) {
            replan(n, &c);
            err = send_claimed(n, &c, st, msg, msgsz);
        }
        tr_claims_release(&c);
    }
    return err;
}

enum tr_err
tr_notify_render(struct tr_store *store, int64_t lead_id, int html, char **text,
                 char **status, char *msg, size_t msgsz)
{
    char id[24];
    const char *p[1] = {id};
    struct tr_sale_view v;
    struct tr_rows *res;
    enum tr_err err;

    *text = NULL;
    if (status != NULL)
        *status = NULL;
    snprintf(id, sizeof(id), "%" PRId64, lead_id);
    if ((res = tr_store_query(store, tr_sql_sale_view, 1, p, msg, msgsz)) ==
        NULL)
        return TR_EDB;
    if (tr_rows_count(res) != 1) {
        tr_rows_free(res);
        return tr_fail(msg, msgsz, TR_EINVAL, "no sale for lead %s", id);
    }
    if ((err = tr_outbox_read_view(res, 0, &v, msg, msgsz)) == TR_OK &&
        tr_render_message(&v, html, text) != TR_OK)
        err = tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    if (err == TR_OK && status != NULL &&
        (*status = strdup(tr_rows_text(res, 0, "notification_status"))) ==
            NULL) {
        free(*text);
        *text = NULL;
        err = tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    }
    tr_rows_free(res);
    return err;
}
