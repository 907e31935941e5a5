/*
 * leads.h: the leads of a parsed webhook body.
 *
 * Every lead under leads[status], leads[update], leads[add] and
 * leads[restore] (in that order), in the full shape or the short
 * digital-pipeline one, is a candidate sale; a lead under leads[delete] is
 * a deletion (a stored sale of it is reversed).  Leads under other leads
 * events (note, responsible, ...) and other entities (contacts, message,
 * task, ...) cannot be sales and are reported as ignored.  Ids are parsed
 * strictly: a lead whose id is not a positive 64-bit integer is kept with an
 * error, and the rest of the body is still processed.  All strings are borrowed
 * from the tree.
 */
#ifndef TR_LEADS_H
#define TR_LEADS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/num.h"
#include "intake/utm.h"

struct json_object;

#define TR_LEADS_MAX 1000 /* leads in one body */

enum tr_lead_kind {
    TR_LEAD_CANDIDATE, /* status/update/add/restore: may be a sale */
    TR_LEAD_DELETED,   /* delete: a stored sale of it is reversed */
    TR_LEAD_IGNORED,   /* another leads event: never a sale */
    TR_LEAD_INVALID,   /* unusable: see error */
};

struct tr_lead {
    enum tr_lead_kind kind;
    const char *event;           /* "leads.status", "leads.update", ... */
    int64_t id;                  /* 0 when missing or invalid */
    int64_t pipeline_id;         /* 0 when missing */
    int64_t status_id;           /* 0 when missing */
    int64_t responsible_user_id; /* 0 when missing */
    int64_t updated_at;          /* the lead's own modification time, unix
                                  * seconds (updated_at, else
                                  * last_modified); 0 when missing */
    const char *name;            /* NULL when missing */
    /*
     * Exact decimal amount without leading zeros ("100000", "99.5"), or ""
     * when the price is missing or empty (unknown, not zero).  price_error is
     * non-NULL when the wire value is not a usable amount.
     */
    char price[TR_PRICE_MAX];
    const char *price_error;
    struct tr_utm utm;
    struct json_object *raw; /* the lead's own subtree */
    char error[96];          /* why the lead is invalid */
};

struct tr_leads {
    struct tr_lead *v;
    size_t n;
    size_t cap;
    size_t ignored;           /* non-lead entities seen (contacts, ...) */
    char ignored_what[96];    /* "contacts.update, message.add" */
    const char *subdomain;    /* account[subdomain], or NULL */
    const char *account_id;   /* account[id], or NULL */
    const char *account_self; /* account[_links][self], or NULL */
};

/* Fills an empty list. */
void tr_leads_init(struct tr_leads *leads);

/* Frees the array the list owns (not the tree). */
void tr_leads_release(struct tr_leads *leads);

/*
 * Extracts the leads of tree into leads (initialised, empty).  map may be
 * NULL.  TR_ETOOBIG when the body holds more than max_leads leads (msg
 * says so), TR_ENOMEM.
 */
enum tr_err tr_leads_extract(struct tr_leads *leads, struct json_object *tree,
                             const struct tr_utm_map *map, size_t max_leads,
                             char *msg, size_t msgsz);

#endif
