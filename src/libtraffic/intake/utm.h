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

#include "base/err.h"
#include "base/utmfields.h"

struct json_object;

struct tr_utm {
    const char *v[TR_UTM_N]; /* NULL when absent; borrowed */
};

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
