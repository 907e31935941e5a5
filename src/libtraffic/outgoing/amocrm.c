/*
 * amocrm.c: lead and contact requests, and defensive reading of answers.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outgoing/amocrm.h"
#include "base/buf.h"

enum tr_err
tr_amocrm_init(struct tr_amocrm *a, const char *base, const char *token,
               long timeout_ms, const struct tr_utm_map *map)
{
    struct tr_buf auth;

    memset(a, 0, sizeof(*a));
    tr_http_init(&a->http);
    a->timeout_ms = timeout_ms;
    a->map = map;
    tr_buf_init(&auth, 8192);
    if (tr_buf_addf(&auth, "Authorization: Bearer %s", token) != TR_OK ||
        (a->auth = tr_buf_detach(&auth)) == NULL ||
        (a->base = strdup(base)) == NULL ||
        (a->token = strdup(token)) == NULL) {
        tr_buf_release(&auth);
        tr_amocrm_release(a);
        return TR_ENOMEM;
    }
    return TR_OK;
}

void
tr_amocrm_release(struct tr_amocrm *a)
{
    tr_http_release(&a->http);
    free(a->base);
    free(a->token);
    free(a->auth);
    memset(a, 0, sizeof(*a));
}

void
tr_amo_lead_release(struct tr_amo_lead *lead)
{
    json_object_put(lead->tree);
    memset(lead, 0, sizeof(*lead));
}

void
tr_amo_contact_release(struct tr_amo_contact *c)
{
    json_object_put(c->tree);
    memset(c, 0, sizeof(*c));
}

static struct json_object *
parse_object(const char *body, size_t len)
{
    struct json_tokener *tok;
    struct json_object *o = NULL;

    if (body == NULL || len == 0 || len > TR_HTTP_ANSWER_MAX ||
        (tok = json_tokener_new()) == NULL)
        return NULL;
    o = json_tokener_parse_ex(tok, body, (int)len);
    if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
                      !json_object_is_type(o, json_type_object))) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static struct json_object *
member(struct json_object *o, const char *key)
{
    struct json_object *v;

    return o != NULL && json_object_is_type(o, json_type_object) &&
                   json_object_object_get_ex(o, key, &v)
               ? v
               : NULL;
}

/* A string member, or NULL for null, "", objects and arrays. */
static const char *
text(struct json_object *o, const char *key)
{
    struct json_object *v = member(o, key);
    const char *s;

    if (v == NULL || !(json_object_is_type(v, json_type_string) ||
                       json_object_is_type(v, json_type_int)))
        return NULL;
    s = json_object_get_string(v);
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* A positive integer member (number or digits), else 0. */
static int64_t
id_of(struct json_object *o, const char *key)
{
    const char *s = text(o, key);
    int64_t v;

    return s != NULL && tr_parse_id(s, &v) == 0 ? v : 0;
}

/* Reads lead object o into lead (o is not taken); -1 without an id. */
static int
read_lead(struct json_object *o, const struct tr_utm_map *map,
          struct tr_amo_lead *lead)
{
    struct json_object *contacts, *c, *price;
    size_t i, n;

    lead->obj = o;
    if ((lead->id = id_of(o, "id")) == 0)
        return -1;
    lead->updated_at = tr_lead_time(id_of(o, "updated_at"));
    lead->status_id = id_of(o, "status_id");
    lead->pipeline_id = id_of(o, "pipeline_id");
    lead->responsible_user_id = id_of(o, "responsible_user_id");
    lead->is_deleted = json_object_get_boolean(member(o, "is_deleted"));
    lead->name = text(o, "name");
    price = member(o, "price");
    if (price != NULL &&
        (json_object_is_type(price, json_type_int) ||
         json_object_is_type(price, json_type_double) ||
         json_object_is_type(price, json_type_string)) &&
        tr_parse_price(json_object_get_string(price), lead->price) != NULL)
        lead->price[0] = '\0';
    tr_utm_extract_api(&lead->utm, member(o, "custom_fields_values"), map);
    contacts = member(member(o, "_embedded"), "contacts");
    if (contacts != NULL && json_object_is_type(contacts, json_type_array)) {
        n = json_object_array_length(contacts);
        for (i = 0; i < n; i++) {
            c = json_object_array_get_idx(contacts, i);
            /* the main contact; else the first one */
            if (json_object_get_boolean(member(c, "is_main")) ||
                lead->main_contact == 0)
                lead->main_contact = id_of(c, "id");
            if (json_object_get_boolean(member(c, "is_main")))
                break;
        }
    }
    return 0;
}

int
tr_amocrm_parse_lead(const char *body, size_t len, const struct tr_utm_map *map,
                     struct tr_amo_lead *lead)
{
    memset(lead, 0, sizeof(*lead));
    if ((lead->tree = parse_object(body, len)) == NULL)
        return -1;
    return read_lead(lead->tree, map, lead);
}

/* The array o.key, or NULL. */
static struct json_object *
array(struct json_object *o, const char *key)
{
    struct json_object *v = member(o, key);

    return v != NULL && json_object_is_type(v, json_type_array) ? v : NULL;
}

int
tr_amocrm_parse_leads(const char *body, size_t len,
                      const struct tr_utm_map *map, struct tr_amo_leads *out)
{
    struct json_object *list;
    size_t i, n;

    memset(out, 0, sizeof(*out));
    if ((out->tree = parse_object(body, len)) == NULL ||
        (list = array(member(out->tree, "_embedded"), "leads")) == NULL)
        return -1;
    n = json_object_array_length(list);
    if (n > 0 && (out->v = calloc(n, sizeof(*out->v))) == NULL)
        return -1;
    for (i = 0; i < n; i++)
        if (read_lead(json_object_array_get_idx(list, i), map,
                      &out->v[out->n]) == 0)
            out->n++; /* a lead without an id is not one */
    out->more =
        member(member(member(out->tree, "_links"), "next"), "href") != NULL;
    return 0;
}

int
tr_amocrm_parse_hooks(const char *body, size_t len, struct tr_amo_hooks *out)
{
    struct json_object *list, *h;
    size_t i, n;

    memset(out, 0, sizeof(*out));
    if ((out->tree = parse_object(body, len)) == NULL ||
        (list = array(member(out->tree, "_embedded"), "webhooks")) == NULL)
        return -1;
    n = json_object_array_length(list);
    if (n > 0 && (out->v = calloc(n, sizeof(*out->v))) == NULL)
        return -1;
    for (i = 0; i < n; i++) {
        h = json_object_array_get_idx(list, i);
        if ((out->v[out->n].destination = text(h, "destination")) == NULL)
            continue;
        out->v[out->n++].disabled =
            json_object_get_boolean(member(h, "disabled"));
    }
    return 0;
}

int
tr_amocrm_parse_events(const char *body, size_t len, struct tr_amo_events *out)
{
    struct json_object *list, *e;
    const char *type;
    size_t i, n;

    memset(out, 0, sizeof(*out));
    if ((out->tree = parse_object(body, len)) == NULL ||
        (list = array(member(out->tree, "_embedded"), "events")) == NULL)
        return -1;
    n = json_object_array_length(list);
    if (n > 0 && (out->v = calloc(n, sizeof(*out->v))) == NULL)
        return -1;
    for (i = 0; i < n; i++) {
        struct tr_amo_event *ev = &out->v[out->n];

        e = json_object_array_get_idx(list, i);
        if ((type = text(e, "type")) == NULL ||
            (strcmp(type, "lead_deleted") != 0 &&
             strcmp(type, "lead_restored") != 0))
            continue;
        /* an event without its lead or time is no evidence */
        if ((ev->lead_id = id_of(e, "entity_id")) == 0 ||
            (ev->created_at = id_of(e, "created_at")) == 0)
            continue;
        ev->created_at = tr_lead_time(ev->created_at);
        if (tr_lead_time_ahead(ev->created_at, (int64_t)time(NULL)))
            continue; /* a time we cannot trust dates nothing */
        ev->deleted = strcmp(type, "lead_deleted") == 0;
        out->n++;
    }
    out->more =
        member(member(member(out->tree, "_links"), "next"), "href") != NULL;
    return 0;
}

void
tr_amo_events_release(struct tr_amo_events *e)
{
    json_object_put(e->tree);
    free(e->v);
    memset(e, 0, sizeof(*e));
}

void
tr_amo_leads_release(struct tr_amo_leads *l)
{
    json_object_put(l->tree);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

void
tr_amo_hooks_release(struct tr_amo_hooks *h)
{
    json_object_put(h->tree);
    free(h->v);
    memset(h, 0, sizeof(*h));
}

/* The first value of the custom field with field_code code. */
static const char *
field_value(struct json_object *fields, const char *code)
{
    struct json_object *f, *values;
    const char *fc;
    size_t i, n;

    if (fields == NULL || !json_object_is_type(fields, json_type_array))
        return NULL;
    n = json_object_array_length(fields);
    for (i = 0; i < n; i++) {
        f = json_object_array_get_idx(fields, i);
        if ((fc = text(f, "field_code")) == NULL || strcmp(fc, code) != 0)
            continue;
        values = member(f, "values");
        if (values != NULL && json_object_is_type(values, json_type_array) &&
            json_object_array_length(values) > 0)
            return text(json_object_array_get_idx(values, 0), "value");
    }
    return NULL;
}

int
tr_amocrm_parse_contact(const char *body, size_t len, struct tr_amo_contact *c)
{
    struct json_object *fields;

    memset(c, 0, sizeof(*c));
    if ((c->tree = parse_object(body, len)) == NULL ||
        id_of(c->tree, "id") == 0)
        return -1;
    c->name = text(c->tree, "name");
    fields = member(c->tree, "custom_fields_values");
    c->phone = field_value(fields, "PHONE");
    c->email = field_value(fields, "EMAIL");
    return 0;
}

/* One GET; sorts the HTTP outcome.  The answer is in a->http.answer. */
static enum tr_amo_status
get(struct tr_amocrm *a, const char *base, const char *path, char *why,
    size_t whysz)
{
    const char *headers[3] = {a->auth, "Accept: application/hal+json", NULL};
    char url[16384];
    long st;

    snprintf(url, sizeof(url), "%s%s", base ? base : a->base, path);
    if (tr_http_request(&a->http, url, headers, NULL, a->timeout_ms, a->token,
                        why, whysz) != TR_OK)
        return TR_AMO_RETRY;
    st = a->http.status;
    if (st == 200)
        return TR_AMO_OK;
    snprintf(why, whysz, "GET %s: HTTP %ld", path, st);
    if (st == 204 || st == 404)
        return TR_AMO_GONE;
    if (st == 401 || st == 403)
        return TR_AMO_DENIED;
    return TR_AMO_RETRY;
}

enum tr_amo_status
tr_amocrm_get_lead(struct tr_amocrm *a, const char *base, int64_t id,
                   struct tr_amo_lead *lead, char *why, size_t whysz)
{
    char path[96];
    enum tr_amo_status st;

    memset(lead, 0, sizeof(*lead));
    snprintf(path, sizeof(path), "/api/v4/leads/%" PRId64 "?with=contacts", id);
    if ((st = get(a, base, path, why, whysz)) != TR_AMO_OK)
        return st;
    if (tr_amocrm_parse_lead(a->http.answer.data, a->http.answer.len, a->map,
                             lead) != 0) {
        snprintf(why, whysz, "GET %s: not a lead object", path);
        return TR_AMO_RETRY;
    }
    if (lead->id != id) {
        /* another lead's answer must not complete or confirm this one */
        snprintf(why, whysz, "GET %s: the answer is lead %" PRId64, path,
                 lead->id);
        return TR_AMO_RETRY;
    }
    return lead->is_deleted ? TR_AMO_GONE : TR_AMO_OK;
}

enum tr_amo_status
tr_amocrm_get_contact(struct tr_amocrm *a, const char *base, int64_t id,
                      struct tr_amo_contact *c, char *why, size_t whysz)
{
    char path[64];
    enum tr_amo_status st;

    memset(c, 0, sizeof(*c));
    snprintf(path, sizeof(path), "/api/v4/contacts/%" PRId64, id);
    if ((st = get(a, base, path, why, whysz)) != TR_AMO_OK)
        return st;
    if (tr_amocrm_parse_contact(a->http.answer.data, a->http.answer.len, c) !=
        0) {
        snprintf(why, whysz, "GET %s: not a contact object", path);
        return TR_AMO_RETRY;
    }
    return TR_AMO_OK;
}

enum tr_amo_status
tr_amocrm_list_leads(struct tr_amocrm *a, const char *query, int page,
                     struct tr_amo_leads *out, char *why, size_t whysz)
{
    char path[16384];
    enum tr_amo_status st;

    memset(out, 0, sizeof(*out));
    if ((size_t)snprintf(path, sizeof(path),
                         "/api/v4/leads?%s&limit=250&page=%d", query,
                         page) >= sizeof(path)) {
        snprintf(why, whysz, "a leads query of %zu bytes is too long",
                 strlen(query));
        return TR_AMO_RETRY;
    }
    if ((st = get(a, NULL, path, why, whysz)) == TR_AMO_GONE &&
        a->http.status == 204)
        return TR_AMO_OK; /* nothing matches */
    if (st != TR_AMO_OK)
        return st;
    if (tr_amocrm_parse_leads(a->http.answer.data, a->http.answer.len, a->map,
                              out) != 0) {
        snprintf(why, whysz, "GET /api/v4/leads: not a leads list");
        return TR_AMO_RETRY;
    }
    return TR_AMO_OK;
}

enum tr_amo_status
tr_amocrm_lead_events(struct tr_amocrm *a, const int64_t *ids, size_t n,
                      int page, struct tr_amo_events *out, char *why,
                      size_t whysz)
{
    char path[1024];
    size_t i, used;
    enum tr_amo_status st;

    memset(out, 0, sizeof(*out));
    if (n == 0 || n > TR_AMO_EVENT_IDS) {
        snprintf(why, whysz, "events of %zu leads asked at once", n);
        return TR_AMO_RETRY;
    }
    used = (size_t)snprintf(path, sizeof(path),
                            "/api/v4/events?filter%%5Bentity%%5D%%5B%%5D=lead"
                            "&filter%%5Btype%%5D%%5B%%5D=lead_deleted"
                            "&filter%%5Btype%%5D%%5B%%5D=lead_restored"
                            "&limit=100&page=%d",
                            page);
    for (i = 0; i < n && used < sizeof(path); i++)
        used += (size_t)snprintf(path + used, sizeof(path) - used,
                                 "&filter%%5Bentity_id%%5D%%5B%%5D=%" PRId64,
                                 ids[i]);
    if ((st = get(a, NULL, path, why, whysz)) == TR_AMO_GONE &&
        a->http.status == 204)
        return TR_AMO_OK; /* no such event */
    if (st != TR_AMO_OK)
        return st;
    if (tr_amocrm_parse_events(a->http.answer.data, a->http.answer.len, out) !=
        0) {
        snprintf(why, whysz, "GET /api/v4/events: not an events list");
        return TR_AMO_RETRY;
    }
    return TR_AMO_OK;
}

enum tr_amo_status
tr_amocrm_list_hooks(struct tr_amocrm *a, struct tr_amo_hooks *out, char *why,
                     size_t whysz)
{
    enum tr_amo_status st;

    memset(out, 0, sizeof(*out));
    if ((st = get(a, NULL, "/api/v4/webhooks", why, whysz)) == TR_AMO_GONE &&
        a->http.status == 204)
        return TR_AMO_OK; /* no subscription at all */
    if (st != TR_AMO_OK)
        return st;
    if (tr_amocrm_parse_hooks(a->http.answer.data, a->http.answer.len, out) !=
        0) {
        snprintf(why, whysz, "GET /api/v4/webhooks: not a webhooks list");
        return TR_AMO_RETRY;
    }
    return TR_AMO_OK;
}

enum tr_amo_status
tr_amocrm_check(struct tr_amocrm *a, char *why, size_t whysz)
{
    return get(a, NULL, "/api/v4/account", why, whysz);
}
