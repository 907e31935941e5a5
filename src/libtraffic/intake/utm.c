/*
 * utm.c: finds the UTM values among a lead's custom fields.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/num.h"
#include "base/text.h"
#include "intake/utm.h"

static const char *const codes[TR_UTM_N] = {
    "UTM_SOURCE",  "UTM_MEDIUM", "UTM_CAMPAIGN",
    "UTM_CONTENT", "UTM_TERM",   "UTM_ID",
};

static const char *
get_str(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
        return NULL;
    if (json_object_is_type(v, json_type_object) ||
        json_object_is_type(v, json_type_array))
        return NULL;
    return json_object_get_string(v);
}

/*
 * The first value of a field: values[0][value], or values[0] itself when it
 * is a scalar (date fields), or "" when there are none.
 */
static const char *
first_value(struct json_object *field)
{
    struct json_object *values, *v0, *val;

    if (!json_object_object_get_ex(field, "values", &values) || values == NULL)
        return "";
    if (json_object_is_type(values, json_type_array)) {
        if (json_object_array_length(values) == 0)
            return "";
        v0 = json_object_array_get_idx(values, 0);
    } else if (json_object_is_type(values, json_type_object)) {
        struct json_object_iter it;

        v0 = NULL;
        json_object_object_foreachC(values, it)
        {
            v0 = it.val;
            break;
        }
    } else {
        return "";
    }
    if (v0 == NULL)
        return "";
    if (json_object_is_type(v0, json_type_object)) {
        if (!json_object_object_get_ex(v0, "value", &val) || val == NULL ||
            json_object_is_type(val, json_type_object) ||
            json_object_is_type(val, json_type_array))
            return "";
        return json_object_get_string(val);
    }
    if (json_object_is_type(v0, json_type_array))
        return "";
    return json_object_get_string(v0);
}

static int
map_match(const struct tr_utm_map *map, size_t i, const char *id,
          const char *name)
{
    int64_t fid;
    char *folded;
    int hit;

    if (map->v[i].field_name != NULL) {
        if (name == NULL ||
            (folded = tr_casefold(name, strlen(name), NULL)) == NULL)
            return 0;
        hit = strcmp(folded, map->v[i].field_name) == 0;
        free(folded);
        return hit;
    }
    return id != NULL && tr_parse_id(id, &fid) == 0 &&
           fid == map->v[i].field_id;
}

/*
 * Reads the UTM values of a custom fields array (keys: the names of a
 * field's code, name and id): pass 0 matches by code, 1 by
 * name, 2 by the operator's map; a key found in one pass is not looked for
 * in the next.
 */
static void
extract(struct tr_utm *utm, struct json_object *fields,
        const struct tr_utm_map *map, const char *const keys[3])
{
    size_t i, n, m;
    int pass, k;

    memset(utm, 0, sizeof(*utm));
    if (fields == NULL || !json_object_is_type(fields, json_type_array))
        return;
    n = json_object_array_length(fields);
    for (pass = 0; pass < 3; pass++) {
        for (i = 0; i < n; i++) {
            struct json_object *f = json_object_array_get_idx(fields, i);
            const char *code, *name, *id;

            if (f == NULL || !json_object_is_type(f, json_type_object))
                continue;
            code = get_str(f, keys[0]);
            name = get_str(f, keys[1]);
            id = get_str(f, keys[2]);
            for (k = 0; k < TR_UTM_N; k++) {
                int hit = 0;

                if (utm->v[k] != NULL)
                    continue;
                if (pass == 0)
                    hit = code != NULL && strcasecmp(code, codes[k]) == 0;
                else if (pass == 1)
                    hit = name != NULL && strcasecmp(name, tr_utm_name(k)) == 0;
                else if (map != NULL)
                    for (m = 0; m < map->n && !hit; m++)
                        hit = map->v[m].key == (enum tr_utm_key)k &&
                              map_match(map, m, id, name);
                if (hit)
                    utm->v[k] = first_value(f);
            }
        }
    }
}

void
tr_utm_extract(struct tr_utm *utm, struct json_object *fields,
               const struct tr_utm_map *map)
{
    static const char *const keys[3] = {"code", "name", "id"};

    extract(utm, fields, map, keys);
}

void
tr_utm_extract_api(struct tr_utm *utm, struct json_object *fields,
                   const struct tr_utm_map *map)
{
    static const char *const keys[3] = {"field_code", "field_name", "field_id"};

    extract(utm, fields, map, keys);
}
