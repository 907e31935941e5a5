/*
 * body.h: request bodies (urlencoded PHP-style forms, or JSON) into one
 * json-c tree.
 *
 * AmoCRM posts application/x-www-form-urlencoded bodies with PHP-style keys:
 * "leads[status][0][custom_fields][1][values][0][value]=cpc".  The parser
 * builds the same tree PHP's $_POST would hold, as json-c objects: objects
 * whose keys are all canonical non-negative integers become arrays ordered by
 * index, so sparse or out-of-order indexes ("[7]" before "[2]") still work.
 * All leaf values are strings.  JSON bodies of that tree's shape are accepted
 * too, and so is the "flat" JSON some frameworks log ({"leads[status][0][id]":
 * "1"}), so a saved body in any of those forms can be replayed.
 *
 * Untrusted input is bounded: body size, number of pairs, nesting depth and
 * key length each have a limit, and malformed escapes, NUL bytes and invalid
 * UTF-8 are errors, never crashes.
 */
#ifndef TR_BODY_H
#define TR_BODY_H

#include <stddef.h>

#include "base/err.h"

struct json_object;

#define TR_BODY_MAX_PAIRS 20000 /* key=value pairs (or JSON nodes) */
#define TR_BODY_MAX_DEPTH 16    /* key segments, JSON nesting */
#define TR_BODY_MAX_KEY 512     /* bytes of one decoded key */

enum tr_body_type {
    TR_BODY_UNSUPPORTED = 0,
    TR_BODY_FORM, /* application/x-www-form-urlencoded */
    TR_BODY_JSON, /* application/json */
};

struct tr_body_limits {
    size_t max_bytes;
    size_t max_pairs;
    size_t max_depth;
    size_t max_key;
};

/* Fills lim with the compiled-in limits and the given body maximum. */
void tr_body_limits_init(struct tr_body_limits *lim, size_t max_bytes);

/*
 * Classifies a Content-Type header value (parameters such as charset are
 * ignored, case-insensitively).  NULL or unknown types are unsupported.
 */
enum tr_body_type tr_body_type_of(const char *content_type);

/*
 * Parses len bytes of data (not necessarily NUL-terminated) into a new tree
 * stored in *out (the caller frees it with json_object_put).  On error *out
 * is NULL, msg says what and where, and the result is TR_EINVAL (malformed)
 * or TR_ETOOBIG (over a limit).  An empty body is TR_EINVAL.
 */
enum tr_err tr_body_parse(enum tr_body_type type, const char *data, size_t len,
                          const struct tr_body_limits *lim,
                          struct json_object **out, char *msg, size_t msgsz);

#endif
