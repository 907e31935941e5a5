/*
 * utm.h: UTM ("tracking data") values of a lead's custom fields.
 *
 * A field counts for utm_source when its code is UTM_SOURCE, else when its
 * name is "utm_source" (case-insensitive), else when it is one of the field
 * ids or names the operator configured (UTM_FIELDS).  A field with no values
 * is empty.  Values are borrowed from the tree they came from.
 */
#ifndef TR_UTM_H
#define TR_UTM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct json_object;

enum tr_utm_key {
    TR_UTM_SOURCE,
    TR_UTM_MEDIUM,
    TR_UTM_CAMPAIGN,
    TR_UTM_CONTENT,
    TR_UTM_TERM,
    TR_UTM_ID,
    TR_UTM_N
};

#define TR_UTM_MAP_MAX 32

/* Operator-configured extra fields: "utm_campaign=700123,utm_source=Источник"
 */
struct tr_utm_map {
    struct {
        enum tr_utm_key key;
        int64_t field_id; /* 0 when matched by name */
        char *field_name; /* case-folded; NULL when matched by id */
    } v[TR_UTM_MAP_MAX];
    size_t n;
};

struct tr_utm {
    const char *v[TR_UTM_N]; /* NULL when absent; borrowed */
};

/* "utm_source" etc. for a key. */
const char *tr_utm_name(enum tr_utm_key key);

/* Fills an empty map. */
void tr_utm_map_init(struct tr_utm_map *map);

/*
 * Parses a UTM_FIELDS value into map (which must be empty).  On error the
 * map may hold part of the list; release it.
 */
enum tr_err tr_utm_map_parse(struct tr_utm_map *map, const char *spec,
                             char *msg, size_t msgsz);

/* Frees the names the map owns. */
void tr_utm_map_release(struct tr_utm_map *map);

/*
 * Reads the UTM values out of a webhook lead's custom_fields array (or
 * object; NULL is fine) into utm.  map may be NULL.
 */
void tr_utm_extract(struct tr_utm *utm, struct json_object *custom_fields,
                    const struct tr_utm_map *map);

/*
 * The same for the AmoCRM API's custom_fields_values array (field_code,
 * field_name, field_id; null is fine).
 */
void tr_utm_extract_api(struct tr_utm *utm, struct json_object *fields,
                        const struct tr_utm_map *map);

#endif
