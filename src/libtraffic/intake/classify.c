/*
 * classify.c: sale or not, the targetologist, the unified routing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "intake/classify.h"
#include "base/config.h"
#include "intake/leads.h"
#include "base/rules.h"
#include "intake/item.h"

const char *
tr_endpoint_source(enum tr_endpoint ep)
{
    return ep == TR_EP_UNIFIED ? TR_SOURCE_UNIFIED : TR_SOURCE_TRAFFIC;
}

const char *
tr_endpoint_name(enum tr_endpoint ep)
{
    return ep == TR_EP_UNIFIED ? "unified" : "traffic";
}

int
tr_endpoint_parse(const char *name, enum tr_endpoint *ep)
{
    if (strcmp(name, "traffic") == 0)
        *ep = TR_EP_TRAFFIC;
    else if (strcmp(name, "unified") == 0)
        *ep = TR_EP_UNIFIED;
    else
        return -1;
    return 0;
}

const char *
tr_classify_route(const struct tr_rules *rules, const struct tr_utm *utm,
                  const struct tr_rule *rule)
{
    const char *src = utm->v[TR_UTM_SOURCE];
    int k, any = 0;

    for (k = 0; k < TR_UTM_N; k++)
        any |= utm->v[k] != NULL && utm->v[k][0] != '\0';
    if (src != NULL && strncasecmp(src, "ref_", 4) == 0)
        return "referral";
    if (rule != &rules->fallback)
        return "traffic";
    return any ? "unknown" : "both";
}

/* The unified endpoint's routing of a sale. */
static void
route_sale(const struct tr_rules *rules, const struct tr_lead *l,
           struct tr_item *it)
{
    it->routing = tr_classify_route(rules, &l->utm, it->rule);
    if (strcmp(it->routing, "referral") == 0) {
        it->is_sale = 0;
        it->conversion = 1;
        it->referral_code = l->utm.v[TR_UTM_SOURCE];
    } else if (strcmp(it->routing, "both") == 0) {
        it->conversion = 1;
    }
}

/* Why a candidate is not a sale, or "" when it is one. */
static void
not_a_sale(const struct tr_config *cfg, const struct tr_lead *l, char *why,
           size_t whysz)
{
    why[0] = '\0';
    if (l->pipeline_id == 0)
        snprintf(why, whysz, "no pipeline_id");
    else if (l->pipeline_id != cfg->pipeline_id)
        snprintf(why, whysz, "pipeline_id %" PRId64 " is not %" PRId64,
                 l->pipeline_id, cfg->pipeline_id);
    else if (l->status_id == 0)
        snprintf(why, whysz, "no status_id");
    else if (l->status_id != cfg->status_id)
        snprintf(why, whysz, "status_id %" PRId64 " is not %" PRId64,
                 l->status_id, cfg->status_id);
}

void
tr_classify(const struct tr_config *cfg, const struct tr_rules *rules,
            enum tr_endpoint ep, const struct tr_lead *l, struct tr_item *it)
{
    it->event = l->event;
    it->lead_id = l->id;
    it->lead = l;
    switch (l->kind) {
    case TR_LEAD_INVALID:
        it->outcome = TR_OUT_ERROR;
        snprintf(it->reason, sizeof(it->reason), "%s", l->error);
        return;
    case TR_LEAD_DELETED:
        /* not a sale, but one stored for it is reversed */
        it->follow = it->deleted = 1;
        /* fall through */
    case TR_LEAD_IGNORED:
        it->outcome = TR_OUT_IGNORED;
        snprintf(it->reason, sizeof(it->reason), "%s events are not sales",
                 l->event);
        return;
    case TR_LEAD_CANDIDATE:
        break;
    }
    not_a_sale(cfg, l, it->reason, sizeof(it->reason));
    if (it->reason[0] != '\0') {
        /* not a sale, but a stored one follows it (reversed) */
        it->outcome = TR_OUT_SKIPPED;
        it->follow = 1;
        return;
    }
    /* a sale whose price cannot be read is still a sale: its amount is
     * unknown until the AmoCRM API says it */
    if (l->price_error != NULL)
        snprintf(it->detail, sizeof(it->detail), "%s: the amount is unknown",
                 l->price_error);
    it->outcome = TR_OUT_SUCCESS;
    it->is_sale = 1;
    it->rule = tr_rules_match(rules, l->utm.v[TR_UTM_CAMPAIGN],
                              l->utm.v[TR_UTM_SOURCE]);
    it->routing = "traffic";
    if (ep == TR_EP_UNIFIED)
        route_sale(rules, l, it);
}
