/*
 * outbox.c: claims, their columns, outcomes and the operator's outbox
 * statements.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/rows.h"
#include "outgoing/outbox.h"
#include "sql.h"
#include "db/store.h"
#include "base/text.h"

/*
 * The claim columns: every statement that claims returns them by name; the
 * view's (from COL_CLIENT on) are also a stored sale's (sale_view.sql).
 */
enum {
    COL_ID,
    COL_KIND,
    COL_CHAT,
    COL_THREAD,
    COL_ATTEMPTS,
    COL_LEAD,
    COL_TARGET,
    COL_TARGET_BATCH,
    COL_BATCH_SIZE,
    COL_BODY,
    COL_EVENT_KIND,
    COL_EVENT_DETAIL,
    COL_LEAD_NAME,
    COL_CLIENT,
    COL_PRICE,
    COL_CURRENCY,
    COL_PRODUCT,
    COL_TARGETOLOGIST,
    COL_EMOJI,
    COL_CAMPAIGN,
    COL_N
};

static const char *const columns[] = {
    "outbox_id",
    "kind",
    "chat_id",
    "thread_id",
    "attempts",
    "lead_id",
    "target_message_id",
    "target_batch",
    "batch_size",
    "body",
    "event_kind",
    "event_detail",
    "lead_name",
    "client",
    "price",
    "currency",
    "product",
    "targetologist",
    "emoji",
    "campaign",
};
_Static_assert(sizeof(columns) / sizeof(columns[0]) == COL_N,
               "a name for every claim column");

void
tr_claims_init(struct tr_claims *c)
{
    c->n = 0;
    c->nres = 0;
}

void
tr_claims_release(struct tr_claims *c)
{
    while (c->nres > 0)
        tr_rows_free(c->res[--c->nres]);
    c->n = 0;
}

/*
 * The numbers of res's columns from first on into col; -1 when one is
 * missing.
 */
static int
find_columns(const struct tr_rows *res, int first, int *col, char *msg,
             size_t msgsz)
{
    int k;

    for (k = first; k < COL_N; k++) {
        if ((col[k] = tr_rows_column(res, columns[k])) < 0) {
            tr_fail(msg, msgsz, TR_EDB,
                    "claim statement returns no column "
                    "\"%s\"",
                    columns[k]);
            return -1;
        }
    }
    return 0;
}

enum tr_err
tr_claims_check(const struct tr_rows *res, char *msg, size_t msgsz)
{
    int col[COL_N];

    return find_columns(res, COL_ID, col, msg, msgsz) == 0 ? TR_OK : TR_EDB;
}

enum tr_err
tr_outbox_check_view(const struct tr_rows *res, char *msg, size_t msgsz)
{
    int col[COL_N];

    return find_columns(res, COL_CLIENT, col, msg, msgsz) == 0 ? TR_OK : TR_EDB;
}

static const char *
field(const struct tr_rows *res, int row, int col)
{
    return tr_rows_at(res, row, col);
}

static void
read_view(const struct tr_rows *res, int row, const int *col,
          struct tr_sale_view *v)
{
    v->client = field(res, row, col[COL_CLIENT]);
    v->price = field(res, row, col[COL_PRICE]);
    v->currency = field(res, row, col[COL_CURRENCY]);
    v->product = field(res, row, col[COL_PRODUCT]);
    v->targetologist = field(res, row, col[COL_TARGETOLOGIST]);
    v->emoji = field(res, row, col[COL_EMOJI]);
    v->campaign = field(res, row, col[COL_CAMPAIGN]);
}

enum tr_err
tr_outbox_read_view(const struct tr_rows *res, int row, struct tr_sale_view *v,
                    char *msg, size_t msgsz)
{
    int col[COL_N];

    if (find_columns(res, COL_CLIENT, col, msg, msgsz) != 0)
        return TR_EDB;
    read_view(res, row, col, v);
    return TR_OK;
}

static enum tr_claim_kind
kind_of(const char *kind)
{
    if (strcmp(kind, "edit") == 0)
        return TR_CLAIM_EDIT;
    if (strcmp(kind, "reply") == 0)
        return TR_CLAIM_REPLY;
    if (strcmp(kind, "digest") == 0)
        return TR_CLAIM_DIGEST;
    return TR_CLAIM_SALE;
}

enum tr_err
tr_claims_take(struct tr_claims *c, struct tr_rows *res, char *msg,
               size_t msgsz)
{
    int col[COL_N], row;
    size_t before = c->n;
    struct tr_claim *m;

    if (find_columns(res, COL_ID, col, msg, msgsz) != 0) {
        tr_rows_free(res);
        return TR_EDB;
    }
    for (row = 0; row < tr_rows_count(res) && c->n < TR_CLAIMS_MAX; row++) {
        if (tr_rows_at(res, row, col[COL_ID]) == NULL)
            continue;
        m = &c->v[c->n++];
        memset(m, 0, sizeof(*m));
        m->id = tr_rows_cell(res, row, col[COL_ID]);
        m->kind = kind_of(tr_rows_cell(res, row, col[COL_KIND]));
        m->chat = tr_rows_cell(res, row, col[COL_CHAT]);
        m->target =
            field(res, row, col[COL_TARGET])
                ? strtoll(tr_rows_cell(res, row, col[COL_TARGET]), NULL, 10)
                : 0;
        m->target_batch =
            field(res, row, col[COL_TARGET_BATCH])
                ? strtoll(tr_rows_cell(res, row, col[COL_TARGET_BATCH]), NULL,
                          10)
                : 0;
        m->batch_size =
            (int)strtol(tr_rows_cell(res, row, col[COL_BATCH_SIZE]), NULL, 10);
        m->body = field(res, row, col[COL_BODY]);
        m->event_kind = field(res, row, col[COL_EVENT_KIND]);
        m->event_detail = field(res, row, col[COL_EVENT_DETAIL]);
        m->lead_name = field(res, row, col[COL_LEAD_NAME]);
        m->thread = strtoll(tr_rows_cell(res, row, col[COL_THREAD]), NULL, 10);
        m->attempts =
            strtol(tr_rows_cell(res, row, col[COL_ATTEMPTS]), NULL, 10);
        m->lead = strtoll(tr_rows_cell(res, row, col[COL_LEAD]), NULL, 10);
        read_view(res, row, col, &m->view);
    }
    if (c->n > before && c->nres < TR_NEW_SALES_MAX)
        c->res[c->nres++] = res;
    else if (c->n > before)
        c->n = before; /* no room to keep its strings: unclaimed */
    if (c->n == before)
        tr_rows_free(res);
    return TR_OK;
}

long
tr_outbox_lease_ms(const struct tr_config *cfg)
{
    return 2 * cfg->tg_timeout_ms + 2000;
}

enum tr_err
tr_outbox_know_chats(struct tr_store *store, const struct tr_chat_lists *l,
                     int sweep, char *msg, size_t msgsz)
{
    const char *p[1] = {l->ids};
    enum tr_err err =
        tr_store_run(store, tr_sql_outbox_chats, 1, p, msg, msgsz);

    if (err == TR_OK && sweep)
        err = tr_store_run(store, tr_sql_outbox_sweep, 0, NULL, msg, msgsz);
    return err;
}

enum tr_err
tr_outbox_claim(struct tr_store *store, const struct tr_config *cfg,
                const int64_t *leads, size_t nleads, struct tr_claims *c,
                int *got, char *msg, size_t msgsz)
{
    char lease[24], batch[24], ids[TR_NEW_SALES_MAX * 24 + 4];
    const char *p[3] = {lease, batch, ids};
    size_t i, o;
    size_t before = c->n;
    struct tr_rows *res;
    enum tr_err err;

    *got = 0;
    if (nleads > TR_NEW_SALES_MAX)
        nleads = TR_NEW_SALES_MAX;
    o = (size_t)snprintf(ids, sizeof(ids), "{");
    for (i = 0; i < nleads; i++)
        o += (size_t)snprintf(ids + o, sizeof(ids) - o, "%s%" PRId64,
                              i ? "," : "", leads[i]);
    snprintf(ids + o, sizeof(ids) - o, "}");
    snprintf(lease, sizeof(lease), "%ld", tr_outbox_lease_ms(cfg));
    snprintf(batch, sizeof(batch), "%ld", cfg->tg_batch_after);
    res = leads != NULL ? tr_store_query_prepared(store, tr_sql_claim_own, 3, p,
                                                  msg, msgsz)
                        : tr_store_query_prepared(store, tr_sql_claim_due, 2, p,
                                                  msg, msgsz);
    if (res == NULL)
        return TR_EDB;
    if ((err = tr_claims_take(c, res, msg, msgsz)) != TR_OK)
        return err;
    *got = c->n > before;
    return TR_OK;
}

/* The ids of n claims from c as a bigint[] literal, in order. */
static void
id_list(const struct tr_claim *c, size_t n, char *buf, size_t bufsz)
{
    size_t i, o = (size_t)snprintf(buf, bufsz, "{");

    for (i = 0; i < n && o < bufsz; i++)
        o +=
            (size_t)snprintf(buf + o, bufsz - o, "%s%s", i ? "," : "", c[i].id);
    if (o < bufsz)
        snprintf(buf + o, bufsz - o, "}");
}

enum tr_err
tr_outbox_record(struct tr_store *store, const struct tr_config *cfg,
                 const struct tr_claim *claim, size_t n,
                 const struct tr_send_outcome *o, char *status, size_t statussz,
                 char *msg, size_t msgsz)
{
    char mid[24], delay[24], interval[24], group[24], attempts[24], age[24];
    char ids[TR_RENDER_BATCH_MAX * 24 + 4];
    const char *p[10];
    struct tr_rows *res;

    snprintf(mid, sizeof(mid), "%" PRId64, o->message_id);
    snprintf(delay, sizeof(delay), "%ld", o->delay_ms);
    snprintf(interval, sizeof(interval), "%ld", cfg->tg_chat_interval_ms);
    snprintf(group, sizeof(group), "%ld", cfg->tg_group_per_minute);
    snprintf(attempts, sizeof(attempts), "%ld", cfg->tg_max_attempts);
    snprintf(age, sizeof(age), "%ld", cfg->tg_max_age_s);
    id_list(claim, n, ids, sizeof(ids));
    p[0] = n > 1 ? ids : claim->id;
    p[1] = o->outcome;
    p[2] = o->message_id ? mid : NULL;
    p[3] = o->error;
    p[4] = delay;
    p[5] = o->moved_to;
    p[6] = interval;
    p[7] = group;
    p[8] = attempts;
    p[9] = age;
    if ((res = tr_store_query_prepared(
             store, n > 1 ? tr_sql_outbox_record_batch : tr_sql_outbox_record,
             10, p, msg, msgsz)) == NULL)
        return TR_EDB;
    snprintf(status, statussz, "%s",
             tr_rows_count(res) == 1 && !tr_rows_null(res, 0, "status")
                 ? tr_rows_text(res, 0, "status")
                 : "gone");
    tr_rows_free(res);
    return TR_OK;
}

enum tr_err
tr_outbox_release(struct tr_store *store, const struct tr_claim *c, size_t n,
                  char *msg, size_t msgsz)
{
    char ids[TR_CLAIMS_MAX * 24 + 4];
    const char *p[1] = {ids};

    id_list(c, n, ids, sizeof(ids));
    return tr_store_run(store, tr_sql_outbox_release, 1, p, msg, msgsz);
}

enum tr_err
tr_outbox_batch_lines(struct tr_store *store, int64_t batch,
                      struct tr_rows **res, struct tr_sale_view *lines,
                      size_t *n, char *msg, size_t msgsz)
{
    char id[24];
    const char *p[1] = {id};
    int col[COL_N], row;

    *n = 0;
    snprintf(id, sizeof(id), "%" PRId64, batch);
    if ((*res = tr_store_query(store, tr_sql_outbox_batch, 1, p, msg, msgsz)) ==
        NULL)
        return TR_EDB;
    if (find_columns(*res, COL_CLIENT, col, msg, msgsz) != 0)
        return TR_EDB;
    for (row = 0; row < tr_rows_count(*res) && row < TR_RENDER_BATCH_MAX; row++)
        read_view(*res, row, col, &lines[(*n)++]);
    if (*n < 2)
        *n = 0; /* one line left: the seed's message */
    return TR_OK;
}

/* Runs a statement returning one row of n numbers, its columns names[],
 * into v. */
static enum tr_err
numbers(struct tr_store *store, const char *sql, const char *const *names,
        double *v, int n, char *msg, size_t msgsz)
{
    struct tr_rows *res = tr_store_query(store, sql, 0, NULL, msg, msgsz);
    int i;

    if (res == NULL)
        return TR_EDB;
    for (i = 0; i < n; i++)
        v[i] = strtod(tr_rows_text(res, 0, names[i]), NULL);
    tr_rows_free(res);
    return TR_OK;
}

enum tr_err
tr_outbox_retry_now(struct tr_store *store, long *rows, char *msg, size_t msgsz)
{
    static const char *const names[] = {"released"};
    double v[1] = {0};
    enum tr_err err =
        numbers(store, tr_sql_outbox_retry_now, names, v, 1, msg, msgsz);

    *rows = (long)v[0];
    return err;
}

enum tr_err
tr_outbox_resend(struct tr_store *store, const struct tr_chat_lists *l,
                 int64_t lead_id, long *rows, char *msg, size_t msgsz)
{
    char lead[24];
    const char *p[3] = {lead, l->ids, l->threads};
    struct tr_rows *res;

    *rows = 0;
    snprintf(lead, sizeof(lead), "%" PRId64, lead_id);
    if ((res = tr_store_query(store, tr_sql_outbox_resend, 3, p, msg, msgsz)) ==
        NULL)
        return TR_EDB;
    *rows = tr_rows_count(res);
    tr_rows_free(res);
    if (*rows == 0)
        return tr_fail(msg, msgsz, TR_EINVAL, "no sale for lead %s", lead);
    return TR_OK;
}

enum tr_err
tr_outbox_pending(struct tr_store *store, long *due, long *pending,
                  double *wait, char *msg, size_t msgsz)
{
    static const char *const names[] = {"due", "pending", "next_in"};
    double v[3] = {0, 0, -1};
    enum tr_err err =
        numbers(store, tr_sql_outbox_pending, names, v, 3, msg, msgsz);

    *due = (long)v[0];
    *pending = (long)v[1];
    *wait = v[2];
    return err;
}

enum tr_err
tr_outbox_analyze(struct tr_store *store, long pending, double planned[2],
                  long *ms, char *msg, size_t msgsz)
{
    static const char *const names[] = {"planned"};
    struct timespec t0, t1;
    enum tr_err err;

    planned[0] = planned[1] = -1;
    *ms = -1;
    if (pending < TR_OUTBOX_ANALYZE_MIN)
        return TR_OK;
    if ((err = numbers(store, tr_sql_outbox_planned, names, planned, 1, msg,
                       msgsz)) != TR_OK ||
        planned[0] < 0 || planned[0] * 4 >= (double)pending)
        return err;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((err = tr_store_run(store, tr_sql_outbox_analyze, 0, NULL, msg,
                            msgsz)) != TR_OK)
        return err;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *ms = tr_ms_since(&t0, &t1);
    return numbers(store, tr_sql_outbox_planned, names, planned + 1, 1, msg,
                   msgsz);
}

enum tr_err
tr_outbox_counts(struct tr_store *store, long *pending, long *failed, char *msg,
                 size_t msgsz)
{
    static const char *const names[] = {"pending", "failed"};
    double v[2] = {0, 0};
    enum tr_err err =
        numbers(store, tr_sql_outbox_counts, names, v, 2, msg, msgsz);

    *pending = (long)v[0];
    *failed = (long)v[1];
    return err;
}
