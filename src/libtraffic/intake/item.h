/*
 * item.h: what the intake decided, as plain types: each lead's outcome
 * (struct tr_item) and what one request brought (struct tr_received).
 * classify fills them, sale writes them; nothing here acts.
 */
#ifndef TR_ITEM_H
#define TR_ITEM_H

#include <stddef.h>
#include <stdint.h>

#define TR_NEW_SALES_MAX 8 /* new sales a request names to the sidecar */

struct tr_lead;
struct tr_rule;

enum tr_outcome {
    TR_OUT_SUCCESS,   /* a new sale, stored */
    TR_OUT_DUPLICATE, /* a sale already stored for this lead */
    TR_OUT_SKIPPED,   /* a lead that is not a sale (pipeline, status) */
    TR_OUT_IGNORED,   /* an event that cannot be a sale */
    TR_OUT_ERROR,     /* unusable input */
};

/* "success", "duplicate", ... as stored in webhook_logs.processing_status. */
const char *tr_outcome_name(enum tr_outcome o);

/* One webhook_logs row, and for a sale the sale itself. */
struct tr_item {
    enum tr_outcome outcome;    /* TR_OUT_SUCCESS for a sale until stored */
    const char *event;          /* "leads.status", "contacts.update", ... */
    int64_t lead_id;            /* 0: none */
    char reason[160];           /* skipped, ignored, error: why */
    int is_sale;                /* stored for the Traffic Dashboard */
    int conversion;             /* recorded in referral_conversions */
    const char *routing;        /* webhook_logs.routing_decision, or NULL */
    const char *referral_code;  /* conversions: utm_source, or NULL */
    const struct tr_lead *lead; /* sales, conversions: the lead */
    const struct tr_rule *rule; /* sales: the targetologist */
    int follow;                 /* not a sale: its stored sale may follow */
    int deleted;                /* follow: the lead was deleted */
    char detail[160];           /* a sale's log detail (its price unknown) */
    const char *change;         /* set by tr_sale_save: what a stored sale
                                 * did ("price_changed", "reversed",
                                 * "restored"), or NULL */
};

/* What one webhook request (or a replayed one, or a reconcile run)
 * brought: its items, and where and when it came from. */
struct tr_received {
    const char *source;      /* "amocrm_traffic" or "amocrm" */
    const char *said_by;     /* "webhook" or "reconcile" (sale_events) */
    int quiet;               /* log only what changes a stored sale */
    const char *request_id;  /* NULL when AmoCRM sent none */
    const char *received_at; /* "2026-11-25 10:00:00.123456+00" */
    const char *log_body;    /* sanitised, bounded body for the log */
    const char *amocrm_base; /* the account's API from the body, or NULL */
    struct tr_item *items;
    size_t nitems;
};

#endif
