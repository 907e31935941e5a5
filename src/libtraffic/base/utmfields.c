/*
 * utmfields.c: the UTM keys' names, and UTM_FIELDS: the operator's extra
 * fields for them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/text.h"
#include "base/utmfields.h"

static const char *const names[TR_UTM_N] = {
    "utm_source",  "utm_medium", "utm_campaign",
    "utm_content", "utm_term",   "utm_id",
};

const char *
tr_utm_name(enum tr_utm_key key)
{
    return key < TR_UTM_N ? names[key] : "?";
}

void
tr_utm_map_init(struct tr_utm_map *map)
{
    memset(map, 0, sizeof(*map));
}

void
tr_utm_map_release(struct tr_utm_map *map)
{
    size_t i;

    for (i = 0; i < map->n; i++)
        free(map->v[i].field_name);
    map->n = 0;
}

static int
key_of(const char *s, size_t n)
{
    int k;

    for (k = 0; k < TR_UTM_N; k++)
        if (strlen(names[k]) == n && strncasecmp(names[k], s, n) == 0)
            return k;
    return -1;
}

static int
parse_id(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    size_t i;

    if (n == 0 || n > 18)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return v > 0 ? 0 : -1;
}

enum tr_err
tr_utm_map_parse(struct tr_utm_map *map, const char *spec, char *msg,
                 size_t msgsz)
{
    const char *p = spec, *end, *eq;
    size_t n;
    int key;

    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        end = p + strcspn(p, ",");
        eq = memchr(p, '=', (size_t)(end - p));
        if (eq == NULL || (key = key_of(p, (size_t)(eq - p))) < 0)
            return tr_fail(msg, msgsz, TR_ECONFIG,
                           "expected utm_NAME=FIELD_ID_OR_NAME, got \"%.*s\"",
                           (int)(end - p), p);
        if (map->n == TR_UTM_MAP_MAX)
            return tr_fail(msg, msgsz, TR_ECONFIG, "more than %d fields",
                           TR_UTM_MAP_MAX);
        eq++;
        n = (size_t)(end - eq);
        while (n > 0 && eq[n - 1] == ' ')
            n--;
        if (n == 0)
            return tr_fail(msg, msgsz, TR_ECONFIG, "empty field for %s",
                           names[key]);
        map->v[map->n].key = (enum tr_utm_key)key;
        map->v[map->n].field_id = 0;
        map->v[map->n].field_name = NULL;
        if (parse_id(eq, n, &map->v[map->n].field_id) != 0 &&
            (map->v[map->n].field_name = tr_casefold(eq, n, NULL)) == NULL)
            return tr_fail(msg, msgsz, TR_ECONFIG,
                           "field name for %s is not valid UTF-8", names[key]);
        map->n++;
        p = end;
    }
    return TR_OK;
}
