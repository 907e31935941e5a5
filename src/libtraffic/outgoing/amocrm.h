/*
 * amocrm.h: the AmoCRM REST API v4, as far as a sale needs it.
 *
 * GET /api/v4/leads/{id}?with=contacts and GET /api/v4/contacts/{id} with
 * the long-lived token (Authorization: Bearer), a timeout on every request,
 * answers bounded in size and read defensively: custom_fields_values may be
 * null, _embedded missing, any value of an unexpected type.  The token never
 * appears in a message this module writes.  Pacing (7 requests a second
 * for the whole pool) is the caller's: see tr_enrich.
 */
#ifndef TR_AMOCRM_H
#define TR_AMOCRM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/http.h"
#include "base/num.h"
#include "intake/utm.h"

struct json_object;

enum tr_amo_status {
    TR_AMO_OK,
    TR_AMO_GONE,   /* 204 / 404: no such lead (deleted) */
    TR_AMO_DENIED, /* 401 / 403: the token (or the IP) is refused */
    TR_AMO_RETRY,  /* 429, 5xx, no answer, an answer we cannot read */
};

/* A lead as the API tells it; strings point into tree. */
struct tr_amo_lead {
    struct json_object *tree; /* owned (NULL in a list: the list's) */
    struct json_object *obj;  /* the lead object itself */
    int64_t id, updated_at;   /* updated_at: unix seconds, 0 unknown */
    int64_t status_id, pipeline_id, responsible_user_id;
    int64_t main_contact; /* 0: none */
    int is_deleted;
    const char *name;         /* NULL when none */
    char price[TR_PRICE_MAX]; /* "" when unknown */
    struct tr_utm utm;
};

/* One page of a leads list; the leads point into tree. */
struct tr_amo_leads {
    struct json_object *tree; /* owned */
    struct tr_amo_lead *v;    /* owned */
    size_t n;
    int more; /* _links.next: there is another page */
};

/* A deletion or restoration of a lead, from the events API. */
struct tr_amo_event {
    int64_t lead_id, created_at; /* created_at: unix seconds */
    int deleted;                 /* 1 lead_deleted, 0 lead_restored */
};

/* One page of events; at most TR_AMO_EVENT_IDS leads a request. */
#define TR_AMO_EVENT_IDS 10
struct tr_amo_events {
    struct json_object *tree; /* owned */
    struct tr_amo_event *v;   /* owned */
    size_t n;
    int more; /* _links.next */
};

/* One webhook subscription of the account. */
struct tr_amo_hook {
    const char *destination;
    int disabled;
};

struct tr_amo_hooks {
    struct json_object *tree; /* owned */
    struct tr_amo_hook *v;    /* owned */
    size_t n;
};

struct tr_amo_contact {
    struct json_object *tree;         /* owned */
    const char *name, *phone, *email; /* NULL when none */
};

struct tr_amocrm {
    struct tr_http http;
    char *base;  /* owned, no trailing "/" */
    char *token; /* owned, only to scrub messages */
    char *auth;  /* "Authorization: Bearer ...", owned */
    long timeout_ms;
    const struct tr_utm_map *map; /* kept, may be NULL */
};

/* Fills a for the API at base with token (both copied).  TR_ENOMEM. */
enum tr_err tr_amocrm_init(struct tr_amocrm *a, const char *base,
                           const char *token, long timeout_ms,
                           const struct tr_utm_map *map);

/* Frees what a owns. */
void tr_amocrm_release(struct tr_amocrm *a);

/*
 * GET /api/v4/leads/{id}?with=contacts into lead (release it whatever the
 * result), from base (NULL: a's own); why says what went wrong when the
 * result is not TR_AMO_OK.
 */
enum tr_amo_status tr_amocrm_get_lead(struct tr_amocrm *a, const char *base,
                                      int64_t id, struct tr_amo_lead *lead,
                                      char *why, size_t whysz);

/* GET /api/v4/contacts/{id} into c (release it whatever the result). */
enum tr_amo_status tr_amocrm_get_contact(struct tr_amocrm *a, const char *base,
                                         int64_t id, struct tr_amo_contact *c,
                                         char *why, size_t whysz);

/*
 * GET /api/v4/leads?QUERY&limit=250&page=PAGE (QUERY: the filters, already
 * encoded, e.g. "filter[id][]=1&filter[id][]=2") into out (release it
 * whatever the result).  204 is an empty list, not TR_AMO_GONE.
 */
enum tr_amo_status tr_amocrm_list_leads(struct tr_amocrm *a, const char *query,
                                        int page, struct tr_amo_leads *out,
                                        char *why, size_t whysz);

/*
 * GET /api/v4/events for the deletions and restorations of the n leads ids
 * (at most TR_AMO_EVENT_IDS), page PAGE, into out (release it whatever the
 * result): positive evidence that a lead was deleted, which absence from a
 * list never is.  204 is an empty list.
 */
enum tr_amo_status tr_amocrm_lead_events(struct tr_amocrm *a,
                                         const int64_t *ids, size_t n, int page,
                                         struct tr_amo_events *out, char *why,
                                         size_t whysz);

/* Parses an events answer; -1 when it is not one.  Pure. */
int tr_amocrm_parse_events(const char *body, size_t len,
                           struct tr_amo_events *out);

void tr_amo_events_release(struct tr_amo_events *e);

/* GET /api/v4/webhooks: the account's subscriptions into out. */
enum tr_amo_status tr_amocrm_list_hooks(struct tr_amocrm *a,
                                        struct tr_amo_hooks *out, char *why,
                                        size_t whysz);

/* Parses a leads list answer; -1 when it is not one.  Pure. */
int tr_amocrm_parse_leads(const char *body, size_t len,
                          const struct tr_utm_map *map,
                          struct tr_amo_leads *out);

/* Parses a webhooks answer; -1 when it is not one.  Pure. */
int tr_amocrm_parse_hooks(const char *body, size_t len,
                          struct tr_amo_hooks *out);

void tr_amo_leads_release(struct tr_amo_leads *l);
void tr_amo_hooks_release(struct tr_amo_hooks *h);

/* GET /api/v4/account: whether the token works (traffic-ctl check). */
enum tr_amo_status tr_amocrm_check(struct tr_amocrm *a, char *why,
                                   size_t whysz);

/* Parses a lead answer; -1 when it is not a lead object.  Pure. */
int tr_amocrm_parse_lead(const char *body, size_t len,
                         const struct tr_utm_map *map,
                         struct tr_amo_lead *lead);

/* Parses a contact answer; -1 when it is not a contact object.  Pure. */
int tr_amocrm_parse_contact(const char *body, size_t len,
                            struct tr_amo_contact *c);

void tr_amo_lead_release(struct tr_amo_lead *lead);
void tr_amo_contact_release(struct tr_amo_contact *c);

#endif
