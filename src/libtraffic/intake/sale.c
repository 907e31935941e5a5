/*
 * sale.c: the statements of a delivery, in one transaction.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/amobase.h"
#include "base/config.h"
#include "intake/leads.h"
#include "base/rules.h"
#include "intake/sale.h"
#include "sql.h"
#include "db/rows.h"
#include "db/store.h"
#include "base/text.h"

/* The parameters of sale.sql: $1 is p[SP_LEAD], and so on. */
enum {
    SP_LEAD,
    SP_NAME,
    SP_PRICE,
    SP_CURRENCY,
    SP_PRODUCT,
    SP_TARGETOLOGIST,
    SP_EMOJI,
    SP_UTM, /* TR_UTM_N of them */
    SP_PIPELINE = SP_UTM + TR_UTM_N,
    SP_STATUS,
    SP_RESPONSIBLE,
    SP_RECEIVED,
    SP_NOTIFICATION,
    SP_JSON,
    SP_CHATS,
    SP_THREADS,
    SP_SOURCE,
    SP_EVENT,
    SP_REQUEST,
    SP_LOG_BODY,
    SP_ROUTING,
    SP_ENRICH,
    SP_BASE,
    SP_UPDATED,
    SP_DETAIL,
    SP_REFERRAL, /* the conversion variants only */
    SP_N
};

/* The parameters of lead_event.sql. */
enum {
    EP_LEAD,
    EP_WON,
    EP_PRICE,
    EP_STATUS,
    EP_PIPELINE,
    EP_DELETED,
    EP_UPDATED,
    EP_REPLIES,
    EP_RECEIVED,
    EP_SOURCE,
    EP_EVENT,
    EP_REQUEST,
    EP_ROUTING,
    EP_OUTCOME,
    EP_REASON,
    EP_LOG_BODY,
    EP_SAID_BY,
    EP_TARGETOLOGIST,
    EP_LOG_ALWAYS,
    EP_N
};

/* What traffic_sale_apply answers for a change, as items keep it. */
static const char *const changes[] = {"price_changed", "reversed", "restored"};

void
tr_sale_init(struct tr_sale *s, const struct tr_config *cfg,
             struct tr_store *store)
{
    char base[512];

    memset(s, 0, sizeof(*s));
    s->store = store;
    s->cfg = cfg;
    tr_chat_lists(cfg->chats, cfg->nchats, &s->chats);
    s->notify = cfg->nchats > 0 && cfg->telegram_bot_token != NULL;
    s->enrich = tr_amobase_configured(cfg, base, sizeof(base));
    s->replies = s->notify && cfg->tg_corrections != 0;
}

static const char *
nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* The text of an id, or NULL for 0 (none). */
static const char *
id_text(char *buf, size_t bufsz, int64_t id)
{
    snprintf(buf, bufsz, "%" PRId64, id);
    return id != 0 ? buf : NULL;
}

/* Binds a sale item's parameters of sale.sql into p (texts kept in t). */
static void
sale_params(const struct tr_sale *s, const struct tr_received *d,
            const struct tr_item *it, char t[5][24], const char **p)
{
    const struct tr_lead *l = it->lead;
    int k;

    p[SP_LEAD] = id_text(t[0], sizeof(t[0]), l->id);
    p[SP_NAME] = nonempty(l->name);
    p[SP_PRICE] = nonempty(l->price);
    p[SP_CURRENCY] = s->cfg->currency;
    p[SP_PRODUCT] = s->cfg->product_name;
    p[SP_TARGETOLOGIST] = it->rule->name;
    p[SP_EMOJI] = it->rule->emoji;
    for (k = 0; k < TR_UTM_N; k++)
        p[SP_UTM + k] = l->utm.v[k];
    p[SP_PIPELINE] = id_text(t[1], sizeof(t[1]), l->pipeline_id);
    p[SP_STATUS] = id_text(t[2], sizeof(t[2]), l->status_id);
    p[SP_RESPONSIBLE] = id_text(t[3], sizeof(t[3]), l->responsible_user_id);
    p[SP_RECEIVED] = d->received_at;
    p[SP_NOTIFICATION] = s->notify ? "pending" : "disabled";
    p[SP_JSON] = json_object_to_json_string_ext(
        l->raw, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    p[SP_CHATS] = s->notify ? s->chats.ids : "{}";
    p[SP_THREADS] = s->notify ? s->chats.threads : "{}";
    p[SP_SOURCE] = d->source;
    p[SP_EVENT] = it->event;
    p[SP_REQUEST] = d->request_id;
    p[SP_LOG_BODY] = d->log_body;
    p[SP_ROUTING] = it->routing;
    p[SP_ENRICH] = s->enrich ? "pending" : "skipped";
    p[SP_BASE] = d->amocrm_base;
    p[SP_UPDATED] = id_text(t[4], sizeof(t[4]), l->updated_at);
    p[SP_DETAIL] = nonempty(it->detail);
    p[SP_REFERRAL] = it->referral_code;
}

/* Whether price is a zero a webhook (not the API) brought. */
static int
zero_from_webhook(const struct tr_received *d, const char *price)
{
    if (price == NULL ||
        (d->said_by != NULL && strcmp(d->said_by, "webhook") != 0))
        return 0;
    return price[strspn(price, "0.")] == '\0';
}

static enum tr_err save_event(struct tr_sale *s, const struct tr_received *d,
                              struct tr_item *it, int alone, char *msg,
                              size_t msgsz);

static enum tr_err
save_sale(struct tr_sale *s, const struct tr_received *d, struct tr_item *it,
          char *msg, size_t msgsz)
{
    char t[5][24];
    const char *p[SP_N], *sql;
    struct tr_rows *res;

    sale_params(s, d, it, t, p);
    sql = it->conversion ? tr_sql_sale_conv : tr_sql_sale;
    if ((res = tr_store_query_prepared(s->store, sql,
                                       it->conversion ? SP_N : SP_N - 1, p, msg,
                                       msgsz)) == NULL)
        return TR_EDB;
    if (tr_rows_count(res) < 1) {
        tr_rows_free(res);
        return tr_fail(msg, msgsz, TR_EDB, "sale statement returned no row");
    }
    if (tr_rows_null(res, 0, "sale_id")) {
        /* stored already: a repeat, or news for the sale */
        tr_rows_free(res);
        it->outcome = TR_OUT_DUPLICATE;
        snprintf(it->reason, sizeof(it->reason),
                 "a sale for lead %" PRId64 " is already stored", it->lead_id);
        return save_event(s, d, it, 0, msg, msgsz);
    }
    it->outcome = TR_OUT_SUCCESS;
    tr_rows_free(res);
    return TR_OK;
}

/* The outcome of a processing_status the database wrote. */
static enum tr_outcome
outcome_of(const char *status)
{
    enum tr_outcome o;

    for (o = TR_OUT_SUCCESS; o <= TR_OUT_ERROR; o++)
        if (strcmp(tr_outcome_name(o), status) == 0)
            return o;
    return TR_OUT_ERROR;
}

/* The item's change from traffic_sale_apply's answer; "stale" too. */
static void
take_change(struct tr_item *it, const char *change, const char *status)
{
    size_t i;

    it->outcome = outcome_of(status);
    it->change = NULL;
    for (i = 0; i < sizeof(changes) / sizeof(changes[0]); i++)
        if (strcmp(change, changes[i]) == 0)
            it->change = changes[i];
    if (strcmp(change, "stale") == 0)
        snprintf(it->reason, sizeof(it->reason), "stale");
    else if (it->change != NULL)
        it->reason[0] = '\0';
}

/*
 * The log row of a lead event, alone in its delivery, when the lead has no
 * stored sale (lead_log.sql); *logged is 0 when it has one.
 */
static enum tr_err
log_unless_sale(struct tr_sale *s, const struct tr_received *d,
                const struct tr_item *it, int *logged, char *msg, size_t msgsz)
{
    char id[24];
    const char *p[10];
    struct tr_rows *res;

    p[0] = id_text(id, sizeof(id), it->lead_id);
    p[1] = d->received_at;
    p[2] = d->source;
    p[3] = it->event;
    p[4] = d->request_id;
    p[5] = it->routing;
    p[6] = tr_outcome_name(it->outcome);
    p[7] = it->rule ? it->rule->name : NULL;
    p[8] = nonempty(it->reason);
    p[9] = d->log_body;
    if ((res = tr_store_query_prepared(s->store, tr_sql_lead_log, 10, p, msg,
                                       msgsz)) == NULL)
        return TR_EDB;
    *logged = tr_rows_count(res) == 1;
    tr_rows_free(res);
    return TR_OK;
}

/*
 * A lead whose stored sale may follow it: a repeat or a new price of a won
 * lead, another status, a deletion (lead_event.sql).  Alone in a webhook's
 * delivery, a lead without a sale (the most common event) is only logged.
 */
static enum tr_err
save_event(struct tr_sale *s, const struct tr_received *d, struct tr_item *it,
           int alone, char *msg, size_t msgsz)
{
    const struct tr_lead *l = it->lead;
    char t[4][24];
    const char *p[EP_N];
    struct tr_rows *res;
    enum tr_err err = TR_OK;
    int logged = 0;

    if (alone && !d->quiet &&
        (err = log_unless_sale(s, d, it, &logged, msg, msgsz)) != TR_OK)
        return err;
    if (logged)
        return TR_OK;
    p[EP_LEAD] = id_text(t[0], sizeof(t[0]), it->lead_id);
    p[EP_WON] = it->is_sale ? "true" : "false";
    p[EP_PRICE] = l ? nonempty(l->price) : NULL;
    p[EP_REASON] = nonempty(it->reason);
    if (zero_from_webhook(d, p[EP_PRICE])) {
        /* a form saved with the price cleared says 0 as often as a real
         * zero: the sale keeps its amount until the API says so */
        p[EP_PRICE] = NULL;
        p[EP_REASON] = "price 0 from the webhook not taken: reconcile asks "
                       "the AmoCRM API";
    }
    p[EP_STATUS] = l ? id_text(t[1], sizeof(t[1]), l->status_id) : NULL;
    p[EP_PIPELINE] = l ? id_text(t[2], sizeof(t[2]), l->pipeline_id) : NULL;
    p[EP_DELETED] = it->deleted ? "true" : "false";
    p[EP_UPDATED] = l ? id_text(t[3], sizeof(t[3]), l->updated_at) : NULL;
    p[EP_REPLIES] = s->replies ? "true" : "false";
    p[EP_RECEIVED] = d->received_at;
    p[EP_SOURCE] = d->source;
    p[EP_EVENT] = it->event;
    p[EP_REQUEST] = d->request_id;
    p[EP_ROUTING] = it->routing;
    p[EP_OUTCOME] = tr_outcome_name(it->outcome);
    p[EP_LOG_BODY] = d->log_body;
    p[EP_SAID_BY] = d->said_by ? d->said_by : "webhook";
    p[EP_TARGETOLOGIST] = it->rule ? it->rule->name : NULL;
    p[EP_LOG_ALWAYS] = d->quiet ? "false" : "true";
    if ((res = tr_store_query_prepared(
             s->store, alone ? tr_sql_lead_event_lazy : tr_sql_lead_event, EP_N,
             p, msg, msgsz)) == NULL)
        return TR_EDB;
    if (tr_rows_count(res) == 1 && !tr_rows_null(res, 0, "status"))
        take_change(it, tr_rows_text(res, 0, "change"),
                    tr_rows_text(res, 0, "status"));
    else
        err = tr_fail(msg, msgsz, TR_EDB, "lead_event returned no row");
    tr_rows_free(res);
    return err;
}

static enum tr_err
save_referral(struct tr_sale *s, const struct tr_received *d,
              struct tr_item *it, char *msg, size_t msgsz)
{
    const struct tr_lead *l = it->lead;
    char id[24];
    const char *p[11];
    struct tr_rows *res;

    p[0] = id_text(id, sizeof(id), l->id);
    p[1] = it->referral_code;
    p[2] = nonempty(l->price);
    p[3] = s->cfg->currency;
    p[4] = nonempty(l->name);
    p[5] = l->utm.v[TR_UTM_CAMPAIGN];
    p[6] = d->received_at;
    p[7] = d->source;
    p[8] = it->event;
    p[9] = d->request_id;
    p[10] = d->log_body;
    if ((res = tr_store_query_prepared(s->store, tr_sql_sale_referral, 11, p,
                                       msg, msgsz)) == NULL)
        return TR_EDB;
    if (tr_rows_count(res) == 1 &&
        strcmp(tr_rows_text(res, 0, "processing_status"), "duplicate") == 0) {
        it->outcome = TR_OUT_DUPLICATE;
        snprintf(it->reason, sizeof(it->reason),
                 "a conversion for lead %" PRId64 " is already stored", l->id);
    }
    tr_rows_free(res);
    return TR_OK;
}

/* The log row of a lead that is no sale; alone is the delivery's only
 * statement (its own transaction, no sale in it: sale_log_lazy). */
static enum tr_err
save_log(struct tr_sale *s, const struct tr_received *d,
         const struct tr_item *it, int alone, char *msg, size_t msgsz)
{
    char id[24];
    const char *p[9];
    int error = it->outcome == TR_OUT_ERROR;
    struct tr_rows *res;

    p[0] = d->received_at;
    p[1] = d->source;
    p[2] = it->event;
    p[3] = id_text(id, sizeof(id), it->lead_id);
    p[4] = d->request_id;
    p[5] = tr_outcome_name(it->outcome);
    p[6] = !error ? nonempty(it->reason) : NULL;
    p[7] = error ? nonempty(it->reason) : NULL;
    p[8] = d->log_body;
    if ((res = tr_store_query_prepared(
             s->store, alone ? tr_sql_sale_log_lazy : tr_sql_sale_log, 9, p,
             msg, msgsz)) == NULL)
        return TR_EDB;
    tr_rows_free(res);
    return TR_OK;
}

static enum tr_err
save_item(struct tr_sale *s, struct tr_received *d, struct tr_item *it,
          int alone, char *msg, size_t msgsz)
{
    if (it->is_sale)
        return save_sale(s, d, it, msg, msgsz);
    if (it->conversion)
        return save_referral(s, d, it, msg, msgsz);
    if (it->follow)
        return save_event(s, d, it, alone, msg, msgsz);
    return save_log(s, d, it, alone, msg, msgsz);
}

/*
 * An item PostgreSQL refused for its own data, in a delivery of several:
 * undone alone, and its error row written in its place, so that the
 * others are stored (their transaction goes on).
 */
static enum tr_err
refuse_item(struct tr_sale *s, struct tr_received *d, struct tr_item *it,
            const char *why, char *msg, size_t msgsz)
{
    tr_store_rollback_to(s->store);
    it->outcome = TR_OUT_ERROR;
    it->is_sale = it->conversion = it->follow = 0;
    it->change = NULL;
    snprintf(it->reason, sizeof(it->reason), "refused by the database: %s",
             why);
    return save_log(s, d, it, 0, msg, msgsz);
}

/*
 * The delivery's statements; with several items in one transaction.  With
 * isolate, each item runs after a savepoint, and one the database refuses
 * for its data becomes an error row of its own (refuse_item).
 */
static enum tr_err
save_once(struct tr_sale *s, struct tr_received *d, int isolate, char *msg,
          size_t msgsz)
{
    int tx = d->nitems > 1;
    enum tr_err err = TR_OK;
    size_t i;

    if (tx && (err = tr_store_begin(s->store, msg, msgsz)) != TR_OK)
        return err;
    for (i = 0; i < d->nitems && err == TR_OK; i++) {
        struct tr_item *it = &d->items[i];

        if (isolate &&
            (err = tr_store_savepoint(s->store, msg, msgsz)) != TR_OK)
            break;
        err = save_item(s, d, it, !tx, msg, msgsz);
        if (isolate && err == TR_EDB && tr_store_connected(s->store) &&
            tr_store_refused(s->store))
            err = refuse_item(s, d, it, msg, msg, msgsz);
    }
    if (tx && err == TR_OK)
        err = tr_store_commit(s->store, msg, msgsz);
    if (tx && err != TR_OK)
        tr_store_rollback(s->store);
    return err;
}

enum tr_err
tr_sale_save(struct tr_sale *s, struct tr_received *d, char *msg, size_t msgsz)
{
    struct tr_item *before = NULL;
    enum tr_err err = TR_OK;
    int attempt;

    /* a try sets outcomes; the next starts from the items as classified */
    if (d->nitems > 1) {
        if ((before = malloc(d->nitems * sizeof(*before))) == NULL)
            return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
        memcpy(before, d->items, d->nitems * sizeof(*before));
    }
    for (attempt = 0; attempt < 2; attempt++) {
        int preparing = tr_store_preparing(s->store);

        if (attempt > 0 && before != NULL)
            memcpy(d->items, before, d->nitems * sizeof(*before));
        if ((err = tr_store_connect(s->store, msg, msgsz)) != TR_OK)
            break;
        err = save_once(s, d, 0, msg, msgsz);
        if (err == TR_EDB && preparing && !tr_store_preparing(s->store) &&
            attempt == 0)
            continue; /* a pooler lost a statement in the transaction: the
                       * whole of it again, with plain statements */
        if (err == TR_EDB && tr_store_connected(s->store) &&
            tr_store_refused(s->store) && before != NULL) {
            /* one lead's data: the others must not share its fate */
            memcpy(d->items, before, d->nitems * sizeof(*before));
            err = save_once(s, d, 1, msg, msgsz);
        }
        if (err == TR_EDB && tr_store_connected(s->store) &&
            tr_store_refused(s->store)) {
            err = TR_EREFUSED; /* no retry, no spool would ever take it */
            break;
        }
        if (err == TR_OK || tr_store_connected(s->store))
            break;
        /* the connection broke (server restart, terminated backend) */
        err = TR_EDBDOWN;
    }
    free(before);
    return err;
}

enum tr_err
tr_sale_probe(struct tr_sale *s, const char *source, char *msg, size_t msgsz)
{
    static char name[] = "probe", emoji[] = "";
    static const struct tr_rule rule = {name, emoji, NULL, NULL, 0};
    struct tr_lead l;
    struct tr_item it;
    struct tr_received d;
    struct timespec now;
    char at[40], id[24];
    const char *p[1] = {id};
    struct tr_rows *res = NULL;
    enum tr_err err;
    int preparing = tr_store_preparing(s->store);

    memset(&l, 0, sizeof(l));
    memset(&it, 0, sizeof(it));
    memset(&d, 0, sizeof(d));
    /* a lead id no deal has, one per process: two probes never meet */
    l.id = -(int64_t)getpid();
    l.kind = TR_LEAD_CANDIDATE;
    snprintf(id, sizeof(id), "%" PRId64, l.id);
    it.is_sale = 1;
    it.event = "probe";
    it.lead_id = l.id;
    it.lead = &l;
    it.rule = &rule;
    clock_gettime(CLOCK_REALTIME, &now);
    tr_text_timestamp(at, sizeof(at), now.tv_sec, now.tv_nsec);
    d.source = source;
    d.said_by = "webhook";
    d.received_at = at;
    d.log_body = "";
    d.items = &it;
    d.nitems = 1;
    if ((err = tr_store_begin(s->store, msg, msgsz)) != TR_OK)
        return err;
    err = save_sale(s, &d, &it, msg, msgsz);
    if (err == TR_EDB && preparing && !tr_store_preparing(s->store)) {
        /* a pooler lost the prepared statement in the transaction: it is
         * the pooler's doing, not a refusal; once more with plain ones */
        tr_store_rollback(s->store);
        if ((err = tr_store_begin(s->store, msg, msgsz)) != TR_OK)
            return err;
        err = save_sale(s, &d, &it, msg, msgsz);
    }
    if (err == TR_OK && (res = tr_store_query(s->store, tr_sql_sale_probe, 1, p,
                                              msg, msgsz)) == NULL)
        err = TR_EDB;
    if (err == TR_OK && (strcmp(tr_rows_text(res, 0, "sales"), "1") != 0 ||
                         strcmp(tr_rows_text(res, 0, "tracking"), "1") != 0 ||
                         strcmp(tr_rows_text(res, 0, "logs"), "1") != 0))
        err = tr_fail(msg, msgsz, TR_EDB,
                      "a sale written cannot be read back (sales_notifications "
                      "%s, all_sales_tracking %s, webhook_logs %s rows of 1): "
                      "row level security without a policy for this role?",
                      tr_rows_text(res, 0, "sales"),
                      tr_rows_text(res, 0, "tracking"),
                      tr_rows_text(res, 0, "logs"));
    tr_rows_free(res);
    tr_store_rollback(s->store);
    return err;
}
