/*
 * classify.h: what one lead of a delivery is, decided without I/O.
 *
 * A candidate lead (leads[status], leads[update], leads[add],
 * leads[restore]) is a sale when its pipeline_id and status_id are the
 * configured ones, even when its price cannot be read (the amount is then
 * unknown); its targetologist is the first rule matching its utm_campaign
 * or utm_source.  Others are skipped with the reason, and deletions and
 * other events ignored; a sale stored for a skipped or deleted lead
 * follows it (sale.h; the result types: item.h).  On the
 * unified endpoint a sale is also routed: referral (utm_source "ref_...":
 * a conversion, no sale), traffic (a targetologist matched), unknown (UTM,
 * no match), both (no UTM at all: a sale and a conversion).
 */
#ifndef TR_CLASSIFY_H
#define TR_CLASSIFY_H

struct tr_config;
struct tr_item;
struct tr_lead;
struct tr_rules;

/* Which webhook a body came to. */
enum tr_endpoint {
    TR_EP_TRAFFIC, /* /webhook/amocrm/traffic: every sale stored */
    TR_EP_UNIFIED, /* /webhook/amocrm: sales routed, conversions */
};

#define TR_SOURCE_TRAFFIC "amocrm_traffic"
#define TR_SOURCE_UNIFIED "amocrm"

/* webhook_logs.source of an endpoint ("amocrm_traffic", "amocrm"). */
const char *tr_endpoint_source(enum tr_endpoint ep);

/* The endpoint's name in a spool entry: "traffic" or "unified". */
const char *tr_endpoint_name(enum tr_endpoint ep);

/* The endpoint of a name tr_endpoint_name gave: 0, or -1 when unknown. */
int tr_endpoint_parse(const char *name, enum tr_endpoint *ep);

struct tr_rule;
struct tr_utm;

/*
 * The unified endpoint's routing of a sale with these UTM values, matched
 * to rule: "referral", "traffic", "unknown" or "both" (static strings).
 */
const char *tr_classify_route(const struct tr_rules *rules,
                              const struct tr_utm *utm,
                              const struct tr_rule *rule);

/*
 * Fills it (zeroed by the caller) with what lead l is on endpoint ep:
 * outcome, event, lead id and reason, and for a sale its rule and routing.
 * it keeps pointers into l and rules.
 */
void tr_classify(const struct tr_config *cfg, const struct tr_rules *rules,
                 enum tr_endpoint ep, const struct tr_lead *l,
                 struct tr_item *it);

#endif
