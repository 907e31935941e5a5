/*
 * reconcile.c: the two passes over the API's leads, the hook check, the
 * run's record.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amorate.h"
#include "buf.h"
#include "classify.h"
#include "config.h"
#include "leads.h"
#include "metrics.h"
#include "reconcile.h"
#include "sql.h"
#include "store.h"
#include "text.h"

#define IDS_PER_REQUEST 250
#define PAGES_MAX 400  /* 100,000 leads in one window */
#define TRIES 3        /* a request, 429/5xx retried after 1 s and 2 s */
#define SLOT_WAIT 60.0 /* a batch job waits for its slot */

/* The lead ids seen in the first pass, sorted for bsearch afterwards. */
struct ids {
    int64_t *v;
    size_t n, cap;
};

static int
add_id(struct ids *s, int64_t id)
{
    int64_t *v;

    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        if ((v = realloc(s->v, s->cap * sizeof(*v))) == NULL)
            return -1;
        s->v = v;
    }
    s->v[s->n++] = id;
    return 0;
}

static int
cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static int
has_id(const struct ids *s, int64_t id)
{
    return s->n > 0 &&
           bsearch(&id, s->v, s->n, sizeof(s->v[0]), cmp_id) != NULL;
}

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
    if (!tr_config_amocrm_base(cfg, base, sizeof(base)))
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

/* A slot, then one leads request, retried while the API says so. */
static enum tr_err
ask(struct tr_reconcile *r, const char *query, int page,
    struct tr_amo_leads *out, char *msg, size_t msgsz)
{
    enum tr_amo_status st = TR_AMO_RETRY;
    struct timespec ts;
    char why[512] = "";
    long backoff = 1000;
    int k;

    for (k = 0; k < TRIES; k++) {
        if (tr_amorate_take(r->store, r->cfg->amo_rate, SLOT_WAIT, msg, msgsz) <
            0)
            return TR_EDB;
        st = tr_amocrm_list_leads(&r->amo, query, page, out, why, sizeof(why));
        tr_metrics_amocrm((int)st);
        if (st != TR_AMO_RETRY)
            break;
        tr_amo_leads_release(out);
        tr_log_say(&r->log, "reconcile: %s; again in %ld ms", why, backoff);
        ts.tv_sec = backoff / 1000;
        ts.tv_nsec = (backoff % 1000) * 1000000L;
        nanosleep(&ts, NULL);
        backoff *= 2;
    }
    if (st == TR_AMO_OK)
        return TR_OK;
    tr_amo_leads_release(out);
    return tr_fail(msg, msgsz, TR_ENET, "the AmoCRM API: %s%s", why,
                   st == TR_AMO_DENIED ? " (AmoCRM refused "
                                         "AMOCRM_ACCESS_TOKEN)"
                                       : "");
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

/*
 * Applies what the API says of lead id (api NULL: it no longer returns it)
 * as a webhook event would, with source 'reconcile'; in a dry run rolled
 * back.
 */
static enum tr_err
apply(struct tr_reconcile *r, const struct tr_amo_lead *api, int64_t id,
      int dry, struct tr_reconcile_stats *st, char *msg, size_t msgsz)
{
    struct tr_lead l;
    struct tr_item it;
    struct tr_delivery d;
    struct timespec now;
    char at[40];
    enum tr_err err;

    memset(&l, 0, sizeof(l));
    memset(&it, 0, sizeof(it));
    memset(&d, 0, sizeof(d));
    l.kind =
        api != NULL && !api->is_deleted ? TR_LEAD_CANDIDATE : TR_LEAD_DELETED;
    l.event = "reconcile";
    l.id = id;
    if (api != NULL) {
        l.pipeline_id = api->pipeline_id;
        l.status_id = api->status_id;
        l.responsible_user_id = api->responsible_user_id;
        l.updated_at = api->updated_at;
        l.name = api->name;
        memcpy(l.price, api->price, sizeof(l.price));
        l.utm = api->utm;
        l.raw = api->obj;
    }
    tr_classify(r->cfg, r->rules, TR_EP_TRAFFIC, &l, &it);
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
    if (err == TR_OK)
        count(st, &it);
    return err;
}

/* Pass 1: the won leads the API changed since the window's start. */
static enum tr_err
won_leads(struct tr_reconcile *r, long long since, int dry, struct ids *seen,
          struct tr_reconcile_stats *st, char *msg, size_t msgsz)
{
    struct tr_amo_leads list;
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
        if ((err = ask(r, query, page, &list, msg, msgsz)) != TR_OK)
            break;
        for (i = 0; i < list.n && err == TR_OK; i++) {
            if (add_id(seen, list.v[i].id) != 0)
                err = tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
            else
                err = apply(r, &list.v[i], list.v[i].id, dry, st, msg, msgsz);
        }
        more = list.more;
        tr_amo_leads_release(&list);
    }
    if (seen->n > 0)
        qsort(seen->v, seen->n, sizeof(seen->v[0]), cmp_id);
    return err;
}

/* Pass 2, one request: these stored sales' leads, by id. */
static enum tr_err
check_batch(struct tr_reconcile *r, const int64_t *ids, size_t n, int dry,
            struct tr_reconcile_stats *st, char *msg, size_t msgsz)
{
    struct tr_amo_leads list;
    struct tr_buf q;
    enum tr_err err;
    size_t i, k;

    tr_buf_init(&q, 64 * 1024);
    for (i = 0, err = TR_OK; i < n && err == TR_OK; i++)
        err = tr_buf_addf(&q, "%sfilter%%5Bid%%5D%%5B%%5D=%" PRId64,
                          i ? "&" : "", ids[i]);
    if (err == TR_OK)
        err = ask(r, q.data, 1, &list, msg, msgsz);
    tr_buf_release(&q);
    if (err != TR_OK)
        return err;
    for (i = 0; i < n && err == TR_OK; i++) {
        for (k = 0; k < list.n && list.v[k].id != ids[i]; k++)
            ;
        /* not returned: deleted */
        err = apply(r, k < list.n ? &list.v[k] : NULL, ids[i], dry, st, msg,
                    msgsz);
    }
    tr_amo_leads_release(&list);
    return err;
}

/* Pass 2: the stored sales of the window that pass 1 did not see. */
static enum tr_err
stored_sales(struct tr_reconcile *r, long long since, int dry,
             const struct ids *seen, struct tr_reconcile_stats *st, char *msg,
             size_t msgsz)
{
    int64_t batch[IDS_PER_REQUEST], id;
    char s[24];
    const char *p[1] = {s};
    enum tr_err err = TR_OK;
    PGresult *res;
    size_t n = 0;
    int i;

    snprintf(s, sizeof(s), "%lld", since);
    if ((res = tr_store_query(r->store, tr_sql_reconcile_sales, 1, p, msg,
                              msgsz)) == NULL)
        return TR_EDB;
    for (i = 0; i < PQntuples(res) && err == TR_OK; i++) {
        id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        if (has_id(seen, id))
            continue;
        batch[n++] = id;
        if (n == IDS_PER_REQUEST) {
            err = check_batch(r, batch, n, dry, st, msg, msgsz);
            n = 0;
        }
    }
    if (err == TR_OK && n > 0)
        err = check_batch(r, batch, n, dry, st, msg, msgsz);
    PQclear(res);
    return err;
}

/* The path of a URL, without its scheme, host and query. */
static void
url_path(const char *url, char *buf, size_t bufsz)
{
    const char *p = strstr(url, "://");

    p = p ? strchr(p + 3, '/') : url;
    snprintf(buf, bufsz, "%.*s", p ? (int)strcspn(p, "?#") : 0, p ? p : "");
    while (strlen(buf) > 1 && buf[strlen(buf) - 1] == '/')
        buf[strlen(buf) - 1] = '\0';
}

/* Whether a subscription's destination is this service. */
static int
ours(const struct tr_config *cfg, const char *dest)
{
    char path[1024];
    size_t n, k;

    if (cfg->webhook_public_url != NULL) {
        /* AmoCRM keeps ?token=... in the destination */
        n = strcspn(cfg->webhook_public_url, "?#");
        k = strcspn(dest, "?#");
        while (n > 0 && cfg->webhook_public_url[n - 1] == '/')
            n--;
        while (k > 0 && dest[k - 1] == '/')
            k--;
        return n == k && strncmp(cfg->webhook_public_url, dest, n) == 0;
    }
    url_path(dest, path, sizeof(path));
    n = strlen(path);
    return (n >= 23 && strcmp(path + n - 23, "/webhook/amocrm/traffic") == 0) ||
           (n >= 15 && strcmp(path + n - 15, "/webhook/amocrm") == 0);
}

void
tr_reconcile_judge_hooks(const struct tr_config *cfg,
                         const struct tr_amo_hooks *hooks,
                         struct tr_reconcile_stats *st)
{
    const char *where = cfg->webhook_public_url ? cfg->webhook_public_url
                                                : ".../webhook/amocrm/traffic";
    size_t i, enabled = 0, disabled = 0;
    const char *off = NULL;

    for (i = 0; i < hooks->n; i++) {
        if (!ours(cfg, hooks->v[i].destination))
            continue;
        if (hooks->v[i].disabled) {
            disabled++;
            off = hooks->v[i].destination;
        } else {
            enabled++;
        }
    }
    st->hook_problem[0] = '\0';
    snprintf(st->hook, sizeof(st->hook), "%s",
             enabled    ? "ok"
             : disabled ? "disabled"
                        : "missing");
    if (!enabled && disabled)
        snprintf(st->hook_problem, sizeof(st->hook_problem),
                 "the AmoCRM webhook to %.300s is disabled (AmoCRM switches "
                 "a hook off after many failed deliveries): enable it again "
                 "in AmoCRM, Settings, API, Webhooks; reconciliation "
                 "recovers what it missed",
                 off);
    else if (!enabled)
        snprintf(st->hook_problem, sizeof(st->hook_problem),
                 "no AmoCRM webhook posts to %.300s: add it in AmoCRM, "
                 "Settings, API, Webhooks (events \"deal changed\" and "
                 "\"deal status changed\")",
                 where);
}

enum tr_err
tr_reconcile_hook(struct tr_reconcile *r, struct tr_reconcile_stats *st,
                  char *msg, size_t msgsz)
{
    struct tr_amo_hooks hooks;
    char why[512];

    st->hook[0] = st->hook_problem[0] = '\0';
    if (tr_amocrm_list_hooks(&r->amo, &hooks, why, sizeof(why)) != TR_AMO_OK) {
        tr_amo_hooks_release(&hooks);
        return tr_fail(msg, msgsz, TR_ENET, "the AmoCRM API: %s", why);
    }
    tr_reconcile_judge_hooks(r->cfg, &hooks, st);
    tr_amo_hooks_release(&hooks);
    return TR_OK;
}

/* Records the run's outcome in its reconcile_runs row. */
static void
finish(struct tr_reconcile *r, const char *run,
       const struct tr_reconcile_stats *st, const char *error)
{
    char v[5][24], why[128];
    const char *p[8];

    snprintf(v[0], sizeof(v[0]), "%zu", st->checked);
    snprintf(v[1], sizeof(v[1]), "%zu", st->recovered);
    snprintf(v[2], sizeof(v[2]), "%zu", st->corrected);
    snprintf(v[3], sizeof(v[3]), "%zu", st->reversed);
    snprintf(v[4], sizeof(v[4]), "%zu", st->unchanged);
    p[0] = run;
    p[1] = v[0];
    p[2] = v[1];
    p[3] = v[2];
    p[4] = v[3];
    p[5] = v[4];
    p[6] = st->hook[0] ? st->hook : NULL;
    p[7] = error;
    tr_store_run(r->store, tr_sql_reconcile_finish, 8, p, why, sizeof(why));
}

/* The passes and the hook check, with the lock held. */
static enum tr_err
passes(struct tr_reconcile *r, long long since, int dry,
       struct tr_reconcile_stats *st, char *msg, size_t msgsz)
{
    struct ids seen = {NULL, 0, 0};
    char why[512];
    enum tr_err err;

    err = won_leads(r, since, dry, &seen, st, msg, msgsz);
    if (err == TR_OK)
        err = stored_sales(r, since, dry, &seen, st, msg, msgsz);
    free(seen.v);
    if (err == TR_OK && tr_reconcile_hook(r, st, why, sizeof(why)) != TR_OK)
        tr_log_say(&r->log, "reconcile: webhooks not checked: %s", why);
    return err;
}

enum tr_err
tr_reconcile_run(struct tr_reconcile *r, long long since_s, int dry_run,
                 struct tr_reconcile_stats *st, char *msg, size_t msgsz)
{
    long long since = (long long)time(NULL) - since_s;
    char s[24], run[24], why[64];
    const char *p[2] = {s, dry_run ? "true" : "false"};
    enum tr_err err;
    PGresult *res;
    int locked;

    memset(st, 0, sizeof(*st));
    if (!r->enabled)
        return tr_fail(msg, msgsz, TR_ECONFIG,
                       "reconciliation needs "
                       "AMOCRM_ACCESS_TOKEN and AMOCRM_DOMAIN or "
                       "AMOCRM_API_BASE");
    if ((err = tr_store_connect(r->store, msg, msgsz)) != TR_OK)
        return err;
    if ((res = tr_store_query(r->store, tr_sql_reconcile_lock, 0, NULL, msg,
                              msgsz)) == NULL)
        return TR_EDB;
    locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!locked) {
        st->busy = 1;
        return TR_OK;
    }
    /* the lock is the session's */
    tr_store_keep_session(r->store, 1);
    snprintf(s, sizeof(s), "%lld", since);
    if ((res = tr_store_query(r->store, tr_sql_reconcile_start, 2, p, msg,
                              msgsz)) == NULL) {
        err = TR_EDB;
    } else {
        snprintf(run, sizeof(run), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        err = passes(r, since, dry_run, st, msg, msgsz);
        if (!dry_run)
            tr_metrics_reconcile(st->recovered, st->corrected, st->reversed,
                                 st->unchanged, err != TR_OK);
        if (tr_store_connected(r->store))
            finish(r, run, st, err != TR_OK ? msg : NULL);
    }
    if (tr_store_connected(r->store))
        tr_store_run(r->store, tr_sql_reconcile_unlock, 0, NULL, why,
                     sizeof(why));
    tr_store_keep_session(r->store, 0);
    return err;
}

void
tr_reconcile_line(const struct tr_reconcile_stats *st, char *buf, size_t bufsz)
{
    if (st->busy) {
        snprintf(buf, bufsz,
                 "reconcile: another host is reconciling; not "
                 "run");
        return;
    }
    snprintf(buf, bufsz,
             "reconcile: checked %zu, recovered %zu, corrected %zu, reversed "
             "%zu, unchanged %zu%s%s",
             st->checked, st->recovered, st->corrected, st->reversed,
             st->unchanged, st->hook_problem[0] ? "; problem: " : "",
             st->hook_problem);
}
