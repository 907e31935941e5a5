/*
 * reconcile.c: the two passes over the API's leads, the hook check, the
 * run's record.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/amobase.h"
#include "outgoing/amorate.h"
#include "base/buf.h"
#include "intake/classify.h"
#include "base/config.h"
#include "outgoing/deletions.h"
#include "outgoing/hooks.h"
#include "base/idset.h"
#include "intake/leads.h"
#include "base/metrics.h"
#include "outgoing/reconcile.h"
#include "sql.h"
#include "db/rows.h"
#include "db/store.h"
#include "base/text.h"

#define IDS_PER_REQUEST 250
#define PAGES_MAX 400  /* 100,000 leads in one window */
#define SLOT_WAIT 60.0 /* a batch job waits for its slot */
/*
 * The breaker: a run that would reverse more than REVERSE_SHARE_PCT of the
 * window's won sales, and more than REVERSE_FREE, reverses none.  Refunds
 * and lost deals after "won" are a few in a hundred; ten in a hundred at
 * once is far more likely an answer misread (a token that lost its rights,
 * an API glitch) than a day of real cancellations, and a wrong reversal
 * takes a paid sale off the dashboard and says so in every chat.
 */
#define REVERSE_SHARE_PCT 10
#define REVERSE_FREE 3

/* A reversal the API gave evidence of, applied at the run's end. */
struct reversal {
    int64_t id, pipeline_id, status_id, updated_at;
    int deleted;
};

struct plan {
    struct reversal *v;
    size_t n, cap;
};

enum tr_err
tr_reconcile_init(struct tr_reconcile *r, const struct tr_config *cfg,
                  const struct tr_rules *rules, struct tr_store *store,
                  const struct tr_log *log)
{
    char base[512];

    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
    r->rules = rules;
    r->store = store;
    if (log != NULL)
        r->log = *log;
    tr_sale_init(&r->sale, cfg, store);
    if (!tr_amobase_configured(cfg, base, sizeof(base)))
        return TR_OK;
    r->enabled = 1;
    return tr_amocrm_init(&r->amo, base, cfg->amocrm_access_token,
                          cfg->amo_timeout_ms, &cfg->utm_map);
}

void
tr_reconcile_release(struct tr_reconcile *r)
{
    if (r->enabled)
        tr_amocrm_release(&r->amo);
    memset(r, 0, sizeof(*r));
}

/* Counts what applying one lead did. */
static void
count(struct tr_reconcile_stats *st, const struct tr_item *it)
{
    st->checked++;
    if (it->change == NULL && it->is_sale && it->outcome == TR_OUT_SUCCESS)
        st->recovered++;
    else if (it->change != NULL && strcmp(it->change, "restored") == 0)
        st->recovered++;
    else if (it->change != NULL && strcmp(it->change, "price_changed") == 0)
        st->corrected++;
    else if (it->change != NULL && strcmp(it->change, "reversed") == 0)
        st->reversed++;
    else
        st->unchanged++;
}

/* A lead seen without evidence either way: counted, nothing changed. */
static void
unverified(struct tr_reconcile *r, struct tr_reconcile_stats *st, int64_t id,
           const char *why)
{
    st->checked++;
    st->unverified++;
    tr_log_warn(&r->log, "reconcile: lead %" PRId64 " unverified: %s", id, why);
}

/* Whether the lead's own fields put it in the sale's pipeline and status. */
static int
won(const struct tr_config *cfg, int64_t pipeline_id, int64_t status_id)
{
    return pipeline_id == cfg->pipeline_id && status_id == cfg->status_id;
}

/* The lead of an API answer, as a webhook would have brought it. */
static void
lead_of(const struct tr_amo_lead *api, struct tr_lead *l)
{
    memset(l, 0, sizeof(*l));
    l->kind = api->is_deleted ? TR_LEAD_DELETED : TR_LEAD_CANDIDATE;
    l->event = "reconcile";
    l->id = api->id;
    l->pipeline_id = api->pipeline_id;
    l->status_id = api->status_id;
    l->responsible_user_id = api->responsible_user_id;
    l->updated_at = api->updated_at;
    l->name = api->name;
    memcpy(l->price, api->price, sizeof(l->price));
    l->utm = api->utm;
    l->raw = api->obj;
}

/*
 * Applies lead l as a webhook event would, with source 'reconcile'; in a
 * dry run rolled back.  A lead the database refuses for its own data is
 * skipped and counted as unverified, never the run's end.
 */
static enum tr_err
apply(struct tr_reconcile *r, const struct tr_lead *l, int dry,
      struct tr_reconcile_stats *st, char *msg, size_t msgsz)
{
    struct tr_item it;
    struct tr_received d;
    struct timespec now;
    char at[40];
    enum tr_err err;

    memset(&it, 0, sizeof(it));
    memset(&d, 0, sizeof(d));
    tr_classify(r->cfg, r->rules, TR_EP_TRAFFIC, l, &it);
    clock_gettime(CLOCK_REALTIME, &now);
    tr_text_timestamp(at, sizeof(at), now.tv_sec, now.tv_nsec);
    d.source = TR_SOURCE_TRAFFIC;
    d.said_by = "reconcile";
    d.quiet = 1;
    d.received_at = at;
    d.log_body = "";
    d.items = &it;
    d.nitems = 1;
    if (dry && (err = tr_store_begin(r->store, msg, msgsz)) != TR_OK)
        return err;
    err = tr_sale_save(&r->sale, &d, msg, msgsz);
    if (dry)
        tr_store_rollback(r->store);
    if (err == TR_OK) {
        count(st, &it);
    } else if (tr_store_connected(r->store) &&
               (err == TR_EREFUSED || tr_store_data_suspect(r->store))) {
        unverified(r, st, l->id, msg);
        err = TR_OK;
    }
    return err;
}

/* Keeps a reversal the API gave evidence of, for the end of the run. */
static int
plan_add(struct plan *p, const struct tr_lead *l)
{
    struct reversal *v;

    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        if ((v = realloc(p->v, p->cap * sizeof(*v))) == NULL)
            return -1;
        p->v = v;
    }
    v = &p->v[p->n++];
    v->id = l->id;
    v->pipeline_id = l->pipeline_id;
    v->status_id = l->status_id;
    v->updated_at = l->updated_at;
    v->deleted = l->kind == TR_LEAD_DELETED;
    return 0;
}

/* Pass 1: the won leads the API changed since the window's start. */
static enum tr_err
won_leads(struct tr_reconcile *r, long long since, int dry,
          struct tr_idset *seen, struct tr_reconcile_stats *st, char *msg,
          size_t msgsz)
{
    struct tr_amo_leads list;
    struct tr_lead l;
    char query[256];
    enum tr_err err = TR_OK;
    int page, more = 1;
    size_t i;

    snprintf(query, sizeof(query),
             "filter%%5Bstatuses%%5D%%5B0%%5D%%5Bpipeline_id%%5D=%" PRId64
             "&filter%%5Bstatuses%%5D%%5B0%%5D%%5Bstatus_id%%5D=%" PRId64
             "&filter%%5Bupdated_at%%5D%%5Bfrom%%5D=%lld",
             r->cfg->pipeline_id, r->cfg->status_id, since);
    for (page = 1; more && page <= PAGES_MAX && err == TR_OK; page++) {
        if ((err = tr_amorate_list_leads(&r->amo, r->store, r->cfg->amo_rate,
                                         query, page, &list, &r->log, msg,
                                         msgsz)) != TR_OK)
            break;
        for (i = 0; i < list.n && err == TR_OK; i++) {
            const struct tr_amo_lead *a = &list.v[i];

            if (tr_idset_add(seen, a->id) != 0)
                err = tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
            else if (tr_lead_time_ahead(a->updated_at, (int64_t)time(NULL)))
                unverified(r, st, a->id, "its updated_at is in the future");
            else if (a->is_deleted ||
                     !won(r->cfg, a->pipeline_id, a->status_id))
                /* the filter says won, its own fields do not (or it has
                 * none): no evidence either way */
                unverified(r, st, a->id,
                           "in the won list without the won status");
            else {
                lead_of(a, &l);
                err = apply(r, &l, dry, st, msg, msgsz);
            }
        }
        more = list.more;
        tr_amo_leads_release(&list);
    }
    tr_idset_sort(seen);
    return err;
}

/*
 * Leads ids (stored as won, absent from an answer by id) whose newest event
 * in AmoCRM is their deletion are planned for reversal, dated by it; the
 * others stay as they are, unverified.
 */
static enum tr_err
deleted_leads(struct tr_reconcile *r, const int64_t *ids, size_t n,
              struct plan *plan, struct tr_reconcile_stats *st, char *msg,
              size_t msgsz)
{
    int64_t at[TR_AMO_EVENT_IDS];
    struct tr_lead l;
    char why[512];
    size_t k;
    int answered;

    answered = tr_deletions_find(&r->amo, r->store, r->cfg->amo_rate, ids, n,
                                 at, why, sizeof(why));
    if (answered < 0)
        return tr_fail(msg, msgsz, TR_EDB, "%s", why);
    for (k = 0; k < n; k++) {
        if (answered == 0 || at[k] == 0) {
            unverified(r, st, ids[k],
                       answered == 0 ? why
                                     : "absent from the API's answer, and no "
                                       "deletion among its events");
            continue;
        }
        memset(&l, 0, sizeof(l));
        l.kind = TR_LEAD_DELETED;
        l.id = ids[k];
        l.updated_at = at[k];
        if (plan_add(plan, &l) != 0)
            return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    }
    return TR_OK;
}

/* A stored sale of the window, and whether it is won now. */
struct stored {
    int64_t id;
    int won;
};

/*
 * Pass 2, one batch: these stored sales' leads, by id, every page of the
 * answer.  A lead returned in another status or pipeline, or deleted, is
 * planned for reversal when its sale is won; won again, it is applied
 * (restored, a new price); without the fields that decide, or absent from
 * the answer with no deletion among its events, it is unverified.
 */
static enum tr_err
check_batch(struct tr_reconcile *r, const struct stored *b, size_t n, int dry,
            struct plan *plan, struct tr_reconcile_stats *st, char *msg,
            size_t msgsz)
{
    struct tr_amo_leads list;
    struct tr_lead l;
    struct tr_buf q;
    int64_t missing[TR_AMO_EVENT_IDS];
    char seen[IDS_PER_REQUEST] = {0};
    enum tr_err err = TR_OK;
    int page, more = 1;
    size_t i, k, nm = 0;

    tr_buf_init(&q, 64 * 1024);
    for (i = 0; i < n && err == TR_OK; i++)
        err = tr_buf_addf(&q, "%sfilter%%5Bid%%5D%%5B%%5D=%" PRId64,
                          i ? "&" : "", b[i].id);
    for (page = 1; more && page <= PAGES_MAX && err == TR_OK; page++) {
        if ((err = tr_amorate_list_leads(&r->amo, r->store, r->cfg->amo_rate,
                                         q.data, page, &list, &r->log, msg,
                                         msgsz)) != TR_OK)
            break;
        for (i = 0; i < list.n && err == TR_OK; i++) {
            const struct tr_amo_lead *a = &list.v[i];

            for (k = 0; k < n && b[k].id != a->id; k++)
                ;
            if (k == n || seen[k])
                continue; /* not asked for, or twice */
            seen[k] = 1;
            lead_of(a, &l);
            if (!a->is_deleted && (a->pipeline_id == 0 || a->status_id == 0))
                unverified(r, st, a->id, "the API's lead has no status");
            else if (tr_lead_time_ahead(a->updated_at, (int64_t)time(NULL)))
                unverified(r, st, a->id, "its updated_at is in the future");
            else if (b[k].won && (a->is_deleted ||
                                  !won(r->cfg, a->pipeline_id, a->status_id)))
                err = plan_add(plan, &l) == 0
                          ? TR_OK
                          : tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
            else
                err = apply(r, &l, dry, st, msg, msgsz);
        }
        more = list.more;
        tr_amo_leads_release(&list);
    }
    tr_buf_release(&q);
    for (k = 0; k < n && err == TR_OK; k++) {
        if (seen[k])
            continue;
        if (!b[k].won) {
            st->checked++;
            st->unchanged++; /* reversed already: nothing to take back */
            continue;
        }
        missing[nm++] = b[k].id;
        if (nm == TR_AMO_EVENT_IDS) {
            err = deleted_leads(r, missing, nm, plan, st, msg, msgsz);
            nm = 0;
        }
    }
    if (err == TR_OK && nm > 0)
        err = deleted_leads(r, missing, nm, plan, st, msg, msgsz);
    return err;
}

/* Pass 2: the stored sales of the window that pass 1 did not see; *won_n
 * says how many of the window's sales are won (the breaker's measure). */
static enum tr_err
stored_sales(struct tr_reconcile *r, long long since, int dry,
             const struct tr_idset *seen, struct plan *plan, size_t *won_n,
             struct tr_reconcile_stats *st, char *msg, size_t msgsz)
{
    struct stored batch[IDS_PER_REQUEST];
    char s[24];
    const char *p[1] = {s};
    enum tr_err err = TR_OK;
    struct tr_rows *res;
    size_t n = 0;
    int i, won_now;
    int64_t id;

    snprintf(s, sizeof(s), "%lld", since);
    if ((res = tr_store_query(r->store, tr_sql_reconcile_sales, 1, p, msg,
                              msgsz)) == NULL)
        return TR_EDB;
    *won_n = 0;
    for (i = 0; i < tr_rows_count(res) && err == TR_OK; i++) {
        id = strtoll(tr_rows_text(res, i, "lead_id"), NULL, 10);
        won_now = tr_rows_text(res, i, "won")[0] == 't';
        *won_n += (size_t)won_now;
        if (tr_idset_has(seen, id))
            continue;
        batch[n].id = id;
        batch[n++].won = won_now;
        if (n == IDS_PER_REQUEST) {
            err = check_batch(r, batch, n, dry, plan, st, msg, msgsz);
            n = 0;
        }
    }
    if (err == TR_OK && n > 0)
        err = check_batch(r, batch, n, dry, plan, st, msg, msgsz);
    tr_rows_free(res);
    return err;
}

/*
 * The planned reversals, once the run's evidence is in: all of them, or,
 * when they are more than REVERSE_SHARE_PCT of the window's won sales and
 * more than REVERSE_FREE, none without force (held, for an operator).
 */
static enum tr_err
reverse_planned(struct tr_reconcile *r, const struct plan *plan, size_t won_n,
                int dry, struct tr_reconcile_stats *st, char *msg, size_t msgsz)
{
    struct tr_lead l;
    enum tr_err err = TR_OK;
    size_t i;

    if (plan->n > REVERSE_FREE && plan->n * 100 > won_n * REVERSE_SHARE_PCT &&
        !r->force) {
        st->held = plan->n;
        st->checked += plan->n;
        tr_log_warn(&r->log,
                    "reconcile: %zu reversals of %zu won sales held back (more "
                    "than %d%%): check AmoCRM, then traffic-ctl reconcile "
                    "--force",
                    plan->n, won_n, REVERSE_SHARE_PCT);
        return TR_OK;
    }
    for (i = 0; i < plan->n && err == TR_OK; i++) {
        memset(&l, 0, sizeof(l));
        l.kind = plan->v[i].deleted ? TR_LEAD_DELETED : TR_LEAD_CANDIDATE;
        l.event = "reconcile";
        l.id = plan->v[i].id;
        l.pipeline_id = plan->v[i].pipeline_id;
        l.status_id = plan->v[i].status_id;
        l.updated_at = plan->v[i].updated_at;
        err = apply(r, &l, dry, st, msg, msgsz);
    }
    return err;
}

enum tr_err
tr_reconcile_hook(struct tr_reconcile *r, struct tr_reconcile_stats *st,
                  char *msg, size_t msgsz)
{
    struct tr_amo_hooks hooks;
    char why[512];

    memset(&st->hook, 0, sizeof(st->hook));
    /* a slot of the pool's rate, like every request to AmoCRM */
    if (tr_amorate_take(r->store, r->cfg->amo_rate, SLOT_WAIT, msg, msgsz) < 0)
        return TR_EDB;
    if (tr_amocrm_list_hooks(&r->amo, &hooks, why, sizeof(why)) != TR_AMO_OK) {
        tr_amo_hooks_release(&hooks);
        return tr_fail(msg, msgsz, TR_ENET, "the AmoCRM API: %s", why);
    }
    tr_hooks_judge(r->cfg, &hooks, &st->hook);
    tr_amo_hooks_release(&hooks);
    return TR_OK;
}

/* Records the run's outcome in its reconcile_runs row. */
static void
finish(struct tr_reconcile *r, const char *run,
       const struct tr_reconcile_stats *st, const char *error)
{
    char v[7][24], why[128];
    const char *p[10];
    size_t n[7] = {st->checked,   st->recovered,  st->corrected, st->reversed,
                   st->unchanged, st->unverified, st->held};
    int i;

    p[0] = run;
    for (i = 0; i < 7; i++) {
        snprintf(v[i], sizeof(v[i]), "%zu", n[i]);
        p[1 + i] = v[i];
    }
    p[8] = st->hook.state[0] ? st->hook.state : NULL;
    p[9] = error;
    tr_store_run(r->store, tr_sql_reconcile_finish, 10, p, why, sizeof(why));
}

/* The passes, the planned reversals and the hook check, with the lock. */
static enum tr_err
passes(struct tr_reconcile *r, long long since, int dry,
       struct tr_reconcile_stats *st, char *msg, size_t msgsz)
{
    struct tr_idset seen = {NULL, 0, 0};
    struct plan plan = {NULL, 0, 0};
    size_t won_n = 0;
    char why[512];
    enum tr_err err;

    err = won_leads(r, since, dry, &seen, st, msg, msgsz);
    if (err == TR_OK)
        err = stored_sales(r, since, dry, &seen, &plan, &won_n, st, msg, msgsz);
    /* only a run whose evidence is complete reverses anything */
    if (err == TR_OK)
        err = reverse_planned(r, &plan, won_n, dry, st, msg, msgsz);
    tr_idset_release(&seen);
    free(plan.v);
    if (err == TR_OK && tr_reconcile_hook(r, st, why, sizeof(why)) != TR_OK)
        tr_log_warn(&r->log, "reconcile: webhooks not checked: %s", why);
    return err;
}

/* Who holds the lease: "host:pid". */
static void
holder(char *buf, size_t bufsz)
{
    char host[64];

    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "?");
    host[sizeof(host) - 1] = '\0';
    snprintf(buf, bufsz, "%s:%ld", host, (long)getpid());
}

enum tr_err
tr_reconcile_run(struct tr_reconcile *r, long long since_s, int dry_run,
                 struct tr_reconcile_stats *st, char *msg, size_t msgsz)
{
    long long since = (long long)time(NULL) - since_s;
    char s[24], run[24] = "", why[64], who[96];
    const char *p[2] = {s, "false"}, *w[1] = {who};
    enum tr_err err = TR_OK;
    struct tr_rows *res;
    int locked;

    memset(st, 0, sizeof(*st));
    if (!r->enabled)
        return tr_fail(msg, msgsz, TR_ECONFIG,
                       "reconciliation needs "
                       "AMOCRM_ACCESS_TOKEN and AMOCRM_DOMAIN or "
                       "AMOCRM_API_BASE");
    if ((err = tr_store_connect(r->store, msg, msgsz)) != TR_OK)
        return err;
    holder(who, sizeof(who));
    if ((res = tr_store_query(r->store, tr_sql_reconcile_lock, 1, w, msg,
                              msgsz)) == NULL)
        return TR_EDB;
    locked = strcmp(tr_rows_text(res, 0, "taken"), "t") == 0;
    tr_rows_free(res);
    if (!locked) {
        st->busy = 1;
        return TR_OK;
    }
    snprintf(s, sizeof(s), "%lld", since);
    /* a dry run leaves no trace: no row, no metric, no "last run" */
    if (!dry_run) {
        if ((res = tr_store_query(r->store, tr_sql_reconcile_start, 2, p, msg,
                                  msgsz)) == NULL)
            err = TR_EDB;
        else
            snprintf(run, sizeof(run), "%s", tr_rows_text(res, 0, "id"));
        tr_rows_free(res);
    }
    if (err == TR_OK) {
        err = passes(r, since, dry_run, st, msg, msgsz);
        if (!dry_run)
            tr_metrics_reconcile(st->recovered, st->corrected, st->reversed,
                                 st->unchanged, err != TR_OK);
        if (!dry_run && tr_store_connected(r->store))
            finish(r, run, st, err != TR_OK ? msg : NULL);
    }
    /* a lease, not a session's lock: it works through a transaction
     * pooler, and one left by a host that died runs out */
    tr_store_run(r->store, tr_sql_reconcile_unlock, 1, w, why, sizeof(why));
    return err;
}

void
tr_reconcile_line(const struct tr_reconcile_stats *st, char *buf, size_t bufsz)
{
    size_t n;

    if (st->busy) {
        snprintf(buf, bufsz,
                 "reconcile: another host is reconciling; not "
                 "run");
        return;
    }
    snprintf(buf, bufsz,
             "reconcile: checked %zu, recovered %zu, corrected %zu, reversed "
             "%zu, unchanged %zu, unverified %zu",
             st->checked, st->recovered, st->corrected, st->reversed,
             st->unchanged, st->unverified);
    if (st->held && (n = strlen(buf)) < bufsz)
        snprintf(buf + n, bufsz - n,
                 "; problem: %zu reversals held back (more than %d%% of the "
                 "window's sales): check AmoCRM, then traffic-ctl reconcile "
                 "--force",
                 st->held, REVERSE_SHARE_PCT);
    if (st->hook.problem[0] && (n = strlen(buf)) < bufsz)
        snprintf(buf + n, bufsz - n, "; problem: %s", st->hook.problem);
}
