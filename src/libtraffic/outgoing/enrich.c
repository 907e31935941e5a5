/*
 * enrich.c: claim a pending sale, ask the AmoCRM API, write what it said.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/amobase.h"
#include "outgoing/amorate.h"
#include "intake/classify.h"
#include "base/config.h"
#include "base/metrics.h"
#include "outgoing/enrich.h"
#include "base/rules.h"
#include "sql.h"
#include "db/rows.h"
#include "db/store.h"

#define BACKOFF_MAX_MS 30000L

enum tr_err
tr_enrich_init(struct tr_enrich *e, const struct tr_config *cfg,
               const struct tr_rules *rules, struct tr_store *store,
               const struct tr_log *log)
{
    char base[512];

    memset(e, 0, sizeof(*e));
    e->cfg = cfg;
    e->rules = rules;
    e->store = store;
    if (log != NULL)
        e->log = *log;
    if (!tr_amobase_configured(cfg, base, sizeof(base)))
        return TR_OK;
    e->enabled = 1;
    return tr_amocrm_init(&e->amo, base, cfg->amocrm_access_token,
                          cfg->amo_timeout_ms, &cfg->utm_map);
}

void
tr_enrich_release(struct tr_enrich *e)
{
    if (e->enabled)
        tr_amocrm_release(&e->amo);
    memset(e, 0, sizeof(*e));
}

/*
 * Takes a request slot (amorate.h): 1 when the request may go now, 0 when
 * the next slot is further away than max_wait (nothing taken) or the
 * database failed (*err).
 */
static int
slot(struct tr_enrich *e, double max_wait, char *msg, size_t msgsz,
     enum tr_err *err)
{
    int r = tr_amorate_take(e->store, e->cfg->amo_rate, max_wait, msg, msgsz);

    if (r < 0)
        *err = TR_EDB;
    return r > 0;
}

/* One claimed sale. */
struct claimed {
    const char *id;
    int64_t lead;
    long attempts;
    double age;                /* seconds since it was stored */
    const char *utm[TR_UTM_N]; /* what the webhook had */
    const char *base;          /* the account's API from the webhook */
    int unified;               /* came to /webhook/amocrm: it is routed */
};

/* A sale the API says is none leaves the dashboard (enrich_reverse.sql). */
static enum tr_err
reverse(struct tr_enrich *e, const struct claimed *c, const char *reason,
        char *msg, size_t msgsz)
{
    char lead[24];
    const char *p[2] = {lead, reason};

    snprintf(lead, sizeof(lead), "%" PRId64, c->lead);
    return tr_store_run(e->store, tr_sql_enrich_reverse, 2, p, msg, msgsz);
}

/* Ends enrichment without data, or schedules another attempt. */
static enum tr_err
not_now(struct tr_enrich *e, const struct claimed *c, const char *why, int gone,
        char *msg, size_t msgsz)
{
    char delay[24];
    const char *p[3];
    long ms = 1000;
    long k;

    if (gone && e->cfg->amo_confirm) {
        tr_log_warn(&e->log,
                    "amocrm: lead %" PRId64 " not confirmed, no message: %s",
                    c->lead, why);
        p[0] = c->id;
        p[1] = "unconfirmed";
        p[2] = why;
        if (tr_store_run(e->store, tr_sql_enrich_final, 3, p, msg, msgsz) !=
            TR_OK)
            return TR_EDB;
        tr_metrics_enrich("unconfirmed");
        /* the API says it is no sale: out of the dashboard */
        return reverse(e, c, "unconfirmed", msg, msgsz);
    }
    for (k = 1; k < c->attempts && ms < BACKOFF_MAX_MS; k++)
        ms *= 2;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    if (gone || c->age >= (double)e->cfg->amo_max_wait_s) {
        tr_log_warn(&e->log,
                    "amocrm: lead %" PRId64
                    ": %s; the message goes out with the "
                    "webhook's data",
                    c->lead, why);
        p[0] = c->id;
        p[1] = "failed";
        p[2] = why;
        tr_metrics_enrich("failed");
        return tr_store_run(e->store, tr_sql_enrich_final, 3, p, msg, msgsz);
    }
    /* the last attempt comes when the wait is over */
    if (c->age + (double)ms / 1000 > (double)e->cfg->amo_max_wait_s)
        ms = (long)(((double)e->cfg->amo_max_wait_s - c->age) * 1000) + 1;
    tr_log_warn(&e->log, "amocrm: lead %" PRId64 ": %s; retrying in %ld ms",
                c->lead, why, ms);
    snprintf(delay, sizeof(delay), "%ld", ms);
    p[0] = c->id;
    p[1] = why;
    p[2] = delay;
    tr_metrics_enrich("retry");
    return tr_store_run(e->store, tr_sql_enrich_retry, 3, p, msg, msgsz);
}

/*
 * A unified sale's routing again, with the UTM the API brought: a referral
 * after all is no sale (enrich_route.sql, enrich_reverse.sql).
 */
static enum tr_err
route(struct tr_enrich *e, const struct claimed *c, const char *const *utm,
      const char *routing, char *msg, size_t msgsz)
{
    char lead[24];
    const char *p[3];

    snprintf(lead, sizeof(lead), "%" PRId64, c->lead);
    p[0] = lead;
    p[1] = routing;
    p[2] = utm[TR_UTM_SOURCE];
    if (tr_store_run(e->store, tr_sql_enrich_route, 3, p, msg, msgsz) != TR_OK)
        return TR_EDB;
    if (strcmp(routing, "referral") != 0)
        return TR_OK;
    tr_log_say(&e->log,
               "amocrm: lead %" PRId64 " is a referral (%s): a "
               "conversion, no sale",
               c->lead, utm[TR_UTM_SOURCE]);
    return reverse(e, c, "referral", msg, msgsz);
}

static const char *
pick(const char *webhook, const char *api)
{
    return webhook != NULL && webhook[0] != '\0' ? webhook : api;
}

/* Writes what the API said about a confirmed lead. */
static enum tr_err
done(struct tr_enrich *e, const struct claimed *c,
     const struct tr_amo_lead *lead, const struct tr_amo_contact *ct, char *msg,
     size_t msgsz)
{
    const struct tr_rule *rule;
    const char *p[16], *utm[TR_UTM_N], *routing = NULL;
    struct tr_utm u;
    char resp[24];
    int k;

    for (k = 0; k < TR_UTM_N; k++) {
        utm[k] = pick(c->utm[k], lead->utm.v[k]);
        if (utm[k] != NULL && utm[k][0] == '\0')
            utm[k] = NULL;
    }
    rule = tr_rules_match(e->rules, utm[TR_UTM_CAMPAIGN], utm[TR_UTM_SOURCE]);
    if (c->unified) {
        for (k = 0; k < TR_UTM_N; k++)
            u.v[k] = utm[k];
        routing = tr_classify_route(e->rules, &u, rule);
    }
    snprintf(resp, sizeof(resp), "%" PRId64, lead->responsible_user_id);
    p[0] = c->id;
    p[1] = lead->name;
    p[2] = lead->price[0] ? lead->price : NULL;
    for (k = 0; k < TR_UTM_N; k++)
        p[3 + k] = utm[k];
    p[9] = rule->name;
    p[10] = rule->emoji;
    p[11] = ct->name;
    p[12] = ct->phone;
    p[13] = ct->email;
    p[14] = lead->responsible_user_id ? resp : NULL;
    /* a referral's messages never become due: nobody may take one */
    p[15] =
        routing != NULL && strcmp(routing, "referral") == 0 ? "false" : "true";
    tr_log_say(&e->log,
               "amocrm: lead %" PRId64
               " confirmed and completed: targetologist "
               "%s, client %s",
               c->lead, rule->name, ct->name ? "known" : "unknown");
    if (tr_store_run(e->store, tr_sql_enrich_done, 16, p, msg, msgsz) != TR_OK)
        return TR_EDB;
    tr_metrics_enrich("done");
    return routing != NULL ? route(e, c, utm, routing, msg, msgsz) : TR_OK;
}

/*
 * What the API's answer st about lead proves: TR_AMO_GONE only on evidence
 * that it is no sale (the lead in another status or pipeline, or deleted);
 * an answer without the fields that decide, a 204 or a 404 (a lead the
 * token's user cannot see, a glitch) is TR_AMO_RETRY: tried again, and at
 * worst the message goes out with the webhook's data.  why says it.
 */
static enum tr_amo_status
evidence(const struct tr_enrich *e, const struct claimed *c,
         const struct tr_amo_lead *l, enum tr_amo_status st, char *why,
         size_t whysz)
{
    if (st == TR_AMO_OK && (l->pipeline_id == 0 || l->status_id == 0)) {
        snprintf(why, whysz,
                 "the API's lead %" PRId64 " has no status or pipeline",
                 c->lead);
        return TR_AMO_RETRY;
    }
    if (st == TR_AMO_OK && (l->pipeline_id != e->cfg->pipeline_id ||
                            l->status_id != e->cfg->status_id)) {
        snprintf(why, whysz,
                 "the API has lead %" PRId64 " in pipeline "
                 "%" PRId64 " status %" PRId64 ", not %" PRId64 "/%" PRId64,
                 c->lead, l->pipeline_id, l->status_id, e->cfg->pipeline_id,
                 e->cfg->status_id);
        return TR_AMO_GONE;
    }
    if (st == TR_AMO_GONE && e->amo.http.status != 200) {
        snprintf(why, whysz,
                 "the API does not show lead %" PRId64 " (HTTP %ld)", c->lead,
                 e->amo.http.status);
        return TR_AMO_RETRY;
    }
    if (st == TR_AMO_GONE)
        snprintf(why, whysz, "the API has lead %" PRId64 " deleted", c->lead);
    return st;
}

static enum tr_err
enrich_one(struct tr_enrich *e, const struct claimed *c, double max_wait,
           int *stop, char *msg, size_t msgsz)
{
    struct tr_amo_lead lead;
    struct tr_amo_contact ct;
    enum tr_amo_status st;
    enum tr_err err = TR_OK;
    char why[512];

    memset(&lead, 0, sizeof(lead));
    memset(&ct, 0, sizeof(ct));
    if (!slot(e, max_wait, msg, msgsz, &err)) {
        /* the pool is at its request rate: leave it for later */
        const char *p[3] = {c->id, NULL, "0"};

        *stop = 1;
        return err != TR_OK ? err
                            : tr_store_run(e->store, tr_sql_enrich_retry, 3, p,
                                           msg, msgsz);
    }
    st = tr_amocrm_get_lead(&e->amo, c->base, c->lead, &lead, why, sizeof(why));
    tr_metrics_amocrm((int)st);
    st = evidence(e, c, &lead, st, why, sizeof(why));
    if (st == TR_AMO_OK && lead.main_contact != 0) {
        if (!slot(e, 1e9, msg, msgsz, &err))
            goto out;
        st = tr_amocrm_get_contact(&e->amo, c->base, lead.main_contact, &ct,
                                   why, sizeof(why));
        tr_metrics_amocrm((int)st);
        if (st == TR_AMO_GONE) {
            st = TR_AMO_OK; /* a deleted contact: a sale without one */
            tr_amo_contact_release(&ct);
        }
    }
    switch (st) {
    case TR_AMO_OK:
        err = done(e, c, &lead, &ct, msg, msgsz);
        break;
    case TR_AMO_GONE:
        err = not_now(e, c, why, 1, msg, msgsz);
        break;
    case TR_AMO_DENIED:
        snprintf(why + strlen(why), sizeof(why) - strlen(why),
                 ": AmoCRM refused AMOCRM_ACCESS_TOKEN (expired? check it "
                 "with traffic-ctl check)");
        err = not_now(e, c, why, 0, msg, msgsz);
        break;
    case TR_AMO_RETRY:
        err = not_now(e, c, why, 0, msg, msgsz);
        break;
    }
out:
    tr_amo_lead_release(&lead);
    tr_amo_contact_release(&ct);
    return err;
}

enum tr_err
tr_enrich_run(struct tr_enrich *e, size_t max, double max_slot_wait, char *msg,
              size_t msgsz)
{
    char lease[24];
    const char *p[1] = {lease};
    struct claimed c;
    struct tr_rows *res;
    enum tr_err err = TR_OK;
    size_t done_n;
    int stop = 0, k;

    if (!e->enabled)
        return TR_OK;
    /* two requests, each after its slot, with room to record */
    snprintf(lease, sizeof(lease), "%ld", 2 * e->cfg->amo_timeout_ms + 5000);
    for (done_n = 0; done_n < max && !stop && err == TR_OK; done_n++) {
        if ((res = tr_store_query(e->store, tr_sql_enrich_claim, 1, p, msg,
                                  msgsz)) == NULL)
            return TR_EDB;
        if (tr_rows_count(res) == 0) {
            tr_rows_free(res);
            break;
        }
        c.id = tr_rows_text(res, 0, "id");
        c.lead = strtoll(tr_rows_text(res, 0, "lead_id"), NULL, 10);
        c.attempts = tr_rows_long(res, 0, "enrich_attempts");
        c.age = strtod(tr_rows_text(res, 0, "age"), NULL);
        for (k = 0; k < TR_UTM_N; k++)
            c.utm[k] = tr_rows_value(res, 0, tr_utm_name((enum tr_utm_key)k));
        c.unified = strcmp(tr_rows_text(res, 0, "source"), "amocrm") == 0;
        /* AMOCRM_API_BASE wins; else the account's own host (.amocrm.com,
         * .kommo.com) when the webhook named it; else AMOCRM_DOMAIN's */
        c.base = e->cfg->amocrm_api_base == NULL
                     ? tr_rows_value(res, 0, "amocrm_base")
                     : NULL;
        err = enrich_one(e, &c, max_slot_wait, &stop, msg, msgsz);
        tr_rows_free(res);
    }
    return err;
}
