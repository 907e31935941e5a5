/*
 * leads.c: walks the tree of a webhook body and collects its leads.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "intake/leads.h"
#include "base/num.h"

/* The events whose leads may be sales, in the order they are taken. */
static const char *const sale_events[] = {"status", "update", "add", "restore"};
#define NSALE_EVENTS (sizeof(sale_events) / sizeof(sale_events[0]))

static int
is_sale_event(const char *event)
{
    size_t i;

    for (i = 0; i < NSALE_EVENTS; i++)
        if (strcmp(event, sale_events[i]) == 0)
            return 1;
    return 0;
}

void
tr_leads_init(struct tr_leads *leads)
{
    memset(leads, 0, sizeof(*leads));
}

void
tr_leads_release(struct tr_leads *leads)
{
    free(leads->v);
    memset(leads, 0, sizeof(*leads));
}

static struct json_object *
get(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/* A scalar's text, or NULL for a missing key, null, object or array. */
static const char *
get_str(struct json_object *o, const char *key)
{
    struct json_object *v = get(o, key);

    if (v == NULL || json_object_is_type(v, json_type_object) ||
        json_object_is_type(v, json_type_array))
        return NULL;
    return json_object_get_string(v);
}

/* Parses an optional id field: 0 when missing; -1 when present and bad. */
static int
get_id(struct json_object *o, const char *key, int64_t *out)
{
    const char *s = get_str(o, key);

    *out = 0;
    if (s == NULL || s[0] == '\0')
        return 0;
    if (strcmp(s, "0") == 0)
        return 0;
    return tr_parse_id(s, out);
}

static enum tr_err
push(struct tr_leads *leads, size_t max, struct tr_lead **out, char *msg,
     size_t msgsz)
{
    struct tr_lead *v;
    size_t cap;

    if (leads->n >= max)
        return tr_fail(msg, msgsz, TR_ETOOBIG,
                       "more than %zu leads in one body", max);
    if (leads->n == leads->cap) {
        cap = leads->cap ? leads->cap * 2 : 4;
        if ((v = realloc(leads->v, cap * sizeof(*v))) == NULL)
            return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
        leads->v = v;
        leads->cap = cap;
    }
    *out = &leads->v[leads->n++];
    memset(*out, 0, sizeof(**out));
    return TR_OK;
}

static void
fill_lead(struct tr_lead *l, struct json_object *o,
          const struct tr_utm_map *map)
{
    const char *id = get_str(o, "id");

    l->raw = o;
    if (!json_object_is_type(o, json_type_object)) {
        l->kind = TR_LEAD_INVALID;
        snprintf(l->error, sizeof(l->error), "lead is not an object");
        return;
    }
    if (tr_parse_id(id, &l->id) != 0) {
        l->kind = TR_LEAD_INVALID;
        l->id = 0;
        snprintf(l->error, sizeof(l->error),
                 id == NULL ? "lead has no id"
                            : "lead id is not a positive 64-bit integer");
        return;
    }
    if (get_id(o, "pipeline_id", &l->pipeline_id) != 0 ||
        get_id(o, "status_id", &l->status_id) != 0) {
        l->kind = TR_LEAD_INVALID;
        snprintf(l->error, sizeof(l->error),
                 "pipeline_id or status_id is not a 64-bit integer");
        return;
    }
    if (get_id(o, "responsible_user_id", &l->responsible_user_id) != 0)
        l->responsible_user_id = 0;
    if (get_id(o, "updated_at", &l->updated_at) != 0 || l->updated_at == 0)
        if (get_id(o, "last_modified", &l->updated_at) != 0)
            l->updated_at = 0;
    l->updated_at = tr_lead_time(l->updated_at);
    if (tr_lead_time_ahead(l->updated_at, (int64_t)time(NULL))) {
        /* refused with its log row: applied, it would freeze the sale */
        l->kind = TR_LEAD_INVALID;
        snprintf(l->error, sizeof(l->error),
                 "updated_at %" PRId64 " is in the future", l->updated_at);
        return;
    }
    l->name = get_str(o, "name");
    l->price_error = tr_parse_price(get_str(o, "price"), l->price);
    tr_utm_extract(&l->utm, get(o, "custom_fields"), map);
}

/* The number of items of an event: an array, an object of items, or one. */
static size_t
items_len(struct json_object *ev)
{
    if (json_object_is_type(ev, json_type_array))
        return json_object_array_length(ev);
    if (json_object_is_type(ev, json_type_object))
        return (size_t)json_object_object_length(ev);
    return 1;
}

static enum tr_err
add_lead(struct tr_leads *leads, struct json_object *o, const char *event,
         enum tr_lead_kind kind, const struct tr_utm_map *map, size_t max,
         char *msg, size_t msgsz)
{
    struct tr_lead *l = NULL;
    enum tr_err err;

    if ((err = push(leads, max, &l, msg, msgsz)) != TR_OK)
        return err;
    l->event = event;
    l->kind = kind;
    if (kind == TR_LEAD_CANDIDATE) {
        fill_lead(l, o, map);
    } else if (kind == TR_LEAD_DELETED) {
        /* a deletion carries the id, sometimes where the lead was */
        fill_lead(l, o, map);
        l->kind = l->id != 0 ? TR_LEAD_DELETED : TR_LEAD_IGNORED;
    } else {
        l->raw = o;
        if (tr_parse_id(get_str(o, "id"), &l->id) != 0)
            l->id = 0;
    }
    return TR_OK;
}

/*
 * An event holds items: an array ({"0": {...}} arrayified), an object of
 * items with other keys, or, when a sender posted one lead without an index,
 * the lead itself (an object with an "id").
 */
static enum tr_err
add_event(struct tr_leads *leads, struct json_object *ev, const char *event,
          enum tr_lead_kind kind, const struct tr_utm_map *map, size_t max,
          char *msg, size_t msgsz)
{
    struct json_object_iter it;
    enum tr_err err = TR_OK;
    size_t i, n;

    if (json_object_is_type(ev, json_type_array)) {
        n = json_object_array_length(ev);
        for (i = 0; i < n && err == TR_OK; i++)
            err = add_lead(leads, json_object_array_get_idx(ev, i), event, kind,
                           map, max, msg, msgsz);
        return err;
    }
    if (!json_object_is_type(ev, json_type_object) || get(ev, "id") != NULL)
        return add_lead(leads, ev, event, kind, map, max, msg, msgsz);
    json_object_object_foreachC(ev, it)
    {
        if ((err = add_lead(leads, it.val, event, kind, map, max, msg,
                            msgsz)) != TR_OK)
            return err;
    }
    return TR_OK;
}

static void
note_ignored(struct tr_leads *leads, const char *entity, const char *event,
             size_t count)
{
    size_t len = strlen(leads->ignored_what);

    leads->ignored += count;
    if (len + strlen(entity) + strlen(event) + 4 < sizeof(leads->ignored_what))
        snprintf(leads->ignored_what + len, sizeof(leads->ignored_what) - len,
                 "%s%s.%s", len ? ", " : "", entity, event);
}

/* Static names for the event strings the log stores. */
static const char *
event_name(const char *event)
{
    static const char *const known[] = {
        "leads.status",  "leads.update",      "leads.add",  "leads.delete",
        "leads.restore", "leads.responsible", "leads.note",
    };
    size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(known[i] + 6, event) == 0)
            return known[i];
    return "leads.other";
}

enum tr_err
tr_leads_extract(struct tr_leads *leads, struct json_object *tree,
                 const struct tr_utm_map *map, size_t max_leads, char *msg,
                 size_t msgsz)
{
    struct json_object *lo, *acc, *links, *ev;
    struct json_object_iter it;
    enum tr_err err;
    size_t i;

    acc = get(tree, "account");
    leads->subdomain = get_str(acc, "subdomain");
    leads->account_id = get_str(acc, "id");
    links = get(acc, "_links");
    leads->account_self = get_str(links, "self");

    lo = get(tree, "leads");
    if (lo != NULL && json_object_is_type(lo, json_type_object)) {
        for (i = 0; i < NSALE_EVENTS; i++) {
            if ((ev = get(lo, sale_events[i])) == NULL)
                continue;
            err = add_event(leads, ev, event_name(sale_events[i]),
                            TR_LEAD_CANDIDATE, map, max_leads, msg, msgsz);
            if (err != TR_OK)
                return err;
        }
        json_object_object_foreachC(lo, it)
        {
            if (is_sale_event(it.key))
                continue;
            err = add_event(leads, it.val, event_name(it.key),
                            strcmp(it.key, "delete") == 0 ? TR_LEAD_DELETED
                                                          : TR_LEAD_IGNORED,
                            map, max_leads, msg, msgsz);
            if (err != TR_OK)
                return err;
        }
    }
    if (tree == NULL || !json_object_is_type(tree, json_type_object))
        return TR_OK;
    json_object_object_foreachC(tree, it)
    {
        struct json_object_iter e;

        if (strcmp(it.key, "leads") == 0 || strcmp(it.key, "account") == 0)
            continue;
        if (!json_object_is_type(it.val, json_type_object)) {
            note_ignored(leads, it.key, "?", 1);
            continue;
        }
        json_object_object_foreachC(it.val, e)
        {
            note_ignored(leads, it.key, e.key, items_len(e.val));
        }
    }
    return TR_OK;
}
