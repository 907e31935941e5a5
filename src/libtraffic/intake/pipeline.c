/*
 * pipeline.c: from the body to the delivery's transaction, and its counts.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/amobase.h"
#include "base/buf.h"
#include "base/config.h"
#include "intake/leads.h"
#include "base/metrics.h"
#include "intake/pipeline.h"
#include "base/rules.h"
#include "base/text.h"

void
tr_pipeline_init(struct tr_pipeline *p, const struct tr_config *cfg,
                 const struct tr_rules *rules, struct tr_store *store)
{
    p->cfg = cfg;
    p->rules = rules;
    tr_sale_init(&p->sale, cfg, store);
    tr_body_limits_init(&p->limits, cfg->max_body_bytes);
}

/* The delivery of in, without items: source, ids, the log's copy. */
static void
delivery(const struct tr_input *in, struct tr_buf *logbody,
         struct tr_received *d)
{
    memset(d, 0, sizeof(*d));
    d->source = tr_endpoint_source(in->endpoint);
    d->said_by = "webhook";
    d->request_id = in->request_id;
    d->received_at = in->received_at;
    if (in->body != NULL)
        tr_text_sanitize(logbody, in->body, in->len, TR_LOG_BODY_MAX);
    d->log_body = logbody->data ? logbody->data : "";
}

/* The leads tree names (none for NULL), as far as they parse. */
static void
leads_named(struct tr_pipeline *p, struct json_object *tree,
            struct tr_leads *leads)
{
    char msg[256];

    if (tree != NULL)
        (void)tr_leads_extract(leads, tree, &p->cfg->utm_map, TR_LEADS_MAX, msg,
                               sizeof(msg));
}

/* tr_pipeline_log_error, with the tree when the caller parsed it. */
static void
log_refused(struct tr_pipeline *p, const struct tr_input *in,
            struct json_object *tree, const char *event, const char *error,
            int keep_body)
{
    struct tr_received d;
    struct tr_item one, *items = &one;
    struct tr_leads leads;
    struct tr_buf logbody;
    char msg[256];
    size_t i, n = 1;

    tr_leads_init(&leads);
    leads_named(p, tree, &leads);
    if (leads.n > 1 && (items = calloc(leads.n, sizeof(*items))) != NULL)
        n = leads.n;
    else
        items = &one;
    memset(items, 0, n * sizeof(*items));
    for (i = 0; i < n; i++) {
        items[i].outcome = TR_OUT_ERROR;
        items[i].event = event;
        items[i].lead_id = i < leads.n ? leads.v[i].id : 0;
        snprintf(items[i].reason, sizeof(items[i].reason), "%s", error);
    }
    tr_buf_init(&logbody, TR_LOG_BODY_MAX + 64);
    delivery(in, &logbody, &d);
    if (!keep_body)
        d.log_body = "";
    d.items = items;
    d.nitems = n;
    tr_sale_save(&p->sale, &d, msg, sizeof(msg));
    tr_buf_release(&logbody);
    if (items != &one)
        free(items);
    tr_leads_release(&leads);
}

void
tr_pipeline_log_error(struct tr_pipeline *p, const struct tr_input *in,
                      const char *event, const char *error)
{
    struct json_object *tree = NULL;
    char msg[256];
    int stranger = strcmp(event, "unauthenticated") == 0;

    if (in->body != NULL && in->len > 0)
        (void)tr_body_parse(in->type, in->body, in->len, &p->limits, &tree, msg,
                            sizeof(msg));
    /* a body that did not prove itself AmoCRM's is not kept */
    log_refused(p, in, tree, event, error, !stranger);
    json_object_put(tree);
}

static void
summarize(struct tr_results *res, const struct tr_item *it)
{
    size_t len = strlen(res->summary);

    if (len + 48 >= sizeof(res->summary)) {
        if (strcmp(res->summary + len - 3, "...") != 0)
            snprintf(res->summary + len, sizeof(res->summary) - len, " ...");
        return;
    }
    snprintf(res->summary + len, sizeof(res->summary) - len, "%s%" PRId64 ":%s",
             len ? " " : "", it->lead_id, tr_outcome_name(it->outcome));
}

static void
count(struct tr_results *res, const struct tr_item *it)
{
    res->total++;
    switch (it->outcome) {
    case TR_OUT_SUCCESS:
        /* a new sale, or a stored one changed: either has messages due */
        res->processed++;
        res->changed += it->change != NULL;
        if (res->nnew < TR_NEW_SALES_MAX)
            res->new_leads[res->nnew++] = it->lead_id;
        break;
    case TR_OUT_DUPLICATE:
        res->duplicates++;
        break;
    case TR_OUT_SKIPPED:
        res->skipped++;
        break;
    case TR_OUT_IGNORED:
        res->ignored++;
        break;
    case TR_OUT_ERROR:
        res->errors++;
        break;
    }
    summarize(res, it);
}

/* The host's counters (metrics.h): the lead's outcome, a new sale. */
static void
measure(struct tr_pipeline *p, enum tr_endpoint ep, const struct tr_item *it)
{
    tr_metrics_lead(ep == TR_EP_UNIFIED, (int)it->outcome);
    if (it->change != NULL)
        tr_metrics_change(it->change);
    else if (it->is_sale && it->outcome == TR_OUT_SUCCESS)
        tr_metrics_sale(tr_rules_index(p->rules, it->rule),
                        it->lead ? it->lead->price : "");
}

/* With AMOCRM_DOMAIN set, a body from another account is refused. */
static enum tr_err
check_account(const struct tr_config *cfg, struct json_object *tree, char *msg,
              size_t msgsz)
{
    struct json_object *acc, *sub;
    const char *s;

    if (cfg->amocrm_domain == NULL)
        return TR_OK;
    if (!json_object_object_get_ex(tree, "account", &acc) ||
        !json_object_object_get_ex(acc, "subdomain", &sub) ||
        !json_object_is_type(sub, json_type_string))
        return tr_fail(msg, msgsz, TR_EDENIED,
                       "no account[subdomain]: "
                       "AMOCRM_DOMAIN is %s",
                       cfg->amocrm_domain);
    s = json_object_get_string(sub);
    if (strcasecmp(s, cfg->amocrm_domain) != 0)
        return tr_fail(msg, msgsz, TR_EDENIED,
                       "account[subdomain] \"%.64s\" "
                       "is not AMOCRM_DOMAIN %s",
                       s, cfg->amocrm_domain);
    return TR_OK;
}

/* The items of leads: one per lead, or one "ignored" for none.  NULL
 * without memory. */
static struct tr_item *
classify_all(struct tr_pipeline *p, enum tr_endpoint ep,
             const struct tr_leads *leads, size_t *n)
{
    struct tr_item *items;
    size_t i;

    *n = leads->n ? leads->n : 1;
    if ((items = calloc(*n, sizeof(*items))) == NULL)
        return NULL;
    for (i = 0; i < leads->n; i++)
        tr_classify(p->cfg, p->rules, ep, &leads->v[i], &items[i]);
    if (leads->n == 0) {
        items[0].outcome = TR_OUT_IGNORED;
        items[0].event = leads->ignored_what[0] ? leads->ignored_what : "none";
        snprintf(items[0].reason, sizeof(items[0].reason),
                 "no leads in the body");
    }
    return items;
}

enum tr_err
tr_pipeline_process(struct tr_pipeline *p, const struct tr_input *in,
                    int dry_run, struct tr_results *res, char *msg,
                    size_t msgsz)
{
    struct json_object *tree = NULL;
    struct tr_leads leads;
    struct tr_received d;
    struct tr_item *items = NULL;
    struct tr_buf logbody;
    char base[300];
    size_t i, n;
    enum tr_err err;

    memset(res, 0, sizeof(*res));
    tr_leads_init(&leads);
    tr_buf_init(&logbody, TR_LOG_BODY_MAX + 64);

    err = tr_body_parse(in->type, in->body, in->len, &p->limits, &tree, msg,
                        msgsz);
    if (err == TR_OK)
        err = check_account(p->cfg, tree, msg, msgsz);
    if (err == TR_OK)
        err = tr_leads_extract(&leads, tree, &p->cfg->utm_map, TR_LEADS_MAX,
                               msg, msgsz);
    if (err != TR_OK) {
        if (!dry_run)
            log_refused(p, in, tree,
                        err == TR_EDENIED ? "foreign_account" : "body", msg, 1);
        res->total = res->errors = 1;
        goto out;
    }
    if ((items = classify_all(p, in->endpoint, &leads, &n)) == NULL) {
        err = tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
        goto out;
    }
    delivery(in, &logbody, &d);
    if (tr_amobase_of_account(p->cfg, leads.account_self, base, sizeof(base)))
        d.amocrm_base = base;
    d.items = items;
    d.nitems = n;
    if (!dry_run && (err = tr_sale_save(&p->sale, &d, msg, msgsz)) != TR_OK) {
        if (err == TR_EREFUSED) /* its error row, so the log still has it */
            log_refused(p, in, NULL, "delivery", msg, 1);
        goto out;
    }
    for (i = 0; i < n; i++) {
        count(res, &items[i]);
        if (!dry_run)
            measure(p, in->endpoint, &items[i]);
    }
    if (leads.n > 0)
        res->ignored += leads.ignored, res->total += leads.ignored;
out:
    free(items);
    tr_leads_release(&leads);
    json_object_put(tree);
    tr_buf_release(&logbody);
    return err;
}
