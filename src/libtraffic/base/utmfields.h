/*
 * utmfields.h: the UTM keys and UTM_FIELDS, the operator's extra fields
 * for them ("utm_campaign=700123,utm_source=Источник"): a configuration
 * value, parsed here; utm.h reads a lead's fields with it.
 */
#ifndef TR_UTMFIELDS_H
#define TR_UTMFIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

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

#endif
