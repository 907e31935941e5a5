/*
 * body.c: the form and JSON body parser.
 *
 * Pairs are decoded one at a time into two scratch buffers, checked (no NUL,
 * valid UTF-8, key within limits), then inserted into a tree of json-c
 * objects along the key's bracketed path.  A last pass turns objects with
 * integer keys into arrays.  Later duplicates win, as in PHP.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistr.h>

#include "base/text.h"
#include "intake/body.h"

struct seg {
    const char *p;
    size_t n;
};

struct parse {
    const struct tr_body_limits *lim;
    size_t nodes;
    char *msg;
    size_t msgsz;
};

void
tr_body_limits_init(struct tr_body_limits *lim, size_t max_bytes)
{
    lim->max_bytes = max_bytes;
    lim->max_pairs = TR_BODY_MAX_PAIRS;
    lim->max_depth = TR_BODY_MAX_DEPTH;
    lim->max_key = TR_BODY_MAX_KEY;
}

enum tr_body_type
tr_body_type_of(const char *ct)
{
    static const char form[] = "application/x-www-form-urlencoded";
    static const char json[] = "application/json";
    size_t n;

    if (ct == NULL)
        return TR_BODY_UNSUPPORTED;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    n = strcspn(ct, "; \t");
    if (n == sizeof(form) - 1 && strncasecmp(ct, form, n) == 0)
        return TR_BODY_FORM;
    if (n == sizeof(json) - 1 && strncasecmp(ct, json, n) == 0)
        return TR_BODY_JSON;
    return TR_BODY_UNSUPPORTED;
}

static int
utf8_ok(const char *s, size_t n)
{
    return u8_check((const uint8_t *)s, n) == NULL;
}

/*
 * Splits a decoded key "a[b][][c]" into its segments.  Returns the number of
 * segments, or -1 (malformed) / -2 (too deep).
 */
static int
split_key(const char *k, size_t n, struct seg *segs, size_t maxsegs)
{
    const char *p = k, *end = k + n, *close;
    size_t nseg = 0;

    close = memchr(k, '[', n);
    segs[0].p = k;
    segs[0].n = close ? (size_t)(close - k) : n;
    if (segs[0].n == 0)
        return -1;
    nseg = 1;
    p = k + segs[0].n;
    while (p < end) {
        if (*p != '[')
            return -1;
        close = memchr(p + 1, ']', (size_t)(end - p - 1));
        if (close == NULL)
            return -1;
        if (nseg == maxsegs)
            return -2;
        segs[nseg].p = p + 1;
        segs[nseg].n = (size_t)(close - p - 1);
        if (memchr(segs[nseg].p, '[', segs[nseg].n) != NULL)
            return -1;
        nseg++;
        p = close + 1;
    }
    return (int)nseg;
}

/* Sets key of obj to val, which it takes over. */
static enum tr_err
obj_set(struct json_object *obj, const char *key, struct json_object *val)
{
    if (json_object_object_add(obj, key, val) != 0) {
        json_object_put(val);
        return TR_ENOMEM;
    }
    return TR_OK;
}

/* The key an empty segment "[]" appends under: one past the entries. */
static void
next_index(struct json_object *obj, char *key, size_t keysz)
{
    size_t i = (size_t)json_object_object_length(obj);

    do
        snprintf(key, keysz, "%zu", i++);
    while (json_object_object_get_ex(obj, key, NULL));
}

/*
 * Inserts value under the path of segs into root, creating objects on the way
 * and replacing a string that stands where an object is needed (PHP does).
 */
static enum tr_err
insert(struct json_object *root, const struct seg *segs, int nseg,
       const char *val, size_t vlen)
{
    struct json_object *cur = root, *child, *leaf;
    char key[TR_BODY_MAX_KEY + 1], idx[24];
    const char *kp;
    size_t kn;
    enum tr_err err;
    int i;

    for (i = 0; i < nseg; i++) {
        kp = segs[i].p;
        kn = segs[i].n;
        if (kn == 0 && i > 0) {
            next_index(cur, idx, sizeof(idx));
            kp = idx;
            kn = strlen(idx);
        }
        if (kn >= sizeof(key))
            return TR_ETOOBIG;
        memcpy(key, kp, kn);
        key[kn] = '\0';
        if (i == nseg - 1) {
            leaf = json_object_new_string_len(val, (int)vlen);
            if (leaf == NULL)
                return TR_ENOMEM;
            return obj_set(cur, key, leaf);
        }
        if (!json_object_object_get_ex(cur, key, &child) ||
            !json_object_is_type(child, json_type_object)) {
            if ((child = json_object_new_object()) == NULL)
                return TR_ENOMEM;
            if ((err = obj_set(cur, key, child)) != TR_OK)
                return err;
        }
        cur = child;
    }
    return TR_OK;
}

/* A canonical non-negative integer that fits in 18 digits, or -1. */
static long long
index_of(const char *k)
{
    long long v = 0;
    size_t i, n = strlen(k);

    if (n == 0 || n > 18 || (k[0] == '0' && n > 1))
        return -1;
    for (i = 0; i < n; i++) {
        if (k[i] < '0' || k[i] > '9')
            return -1;
        v = v * 10 + (k[i] - '0');
    }
    return v;
}

struct slot {
    long long idx;
    struct json_object *val;
};

static int
slot_cmp(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;

    return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Replaces, below obj, every object whose keys are all integers by an array
 * in index order.  Returns obj itself, or the array that should replace it
 * in its parent (which then releases obj), or NULL without memory.
 */
static struct json_object *
arrayify(struct json_object *obj, size_t depth)
{
    struct json_object *arr, *nv;
    struct slot *slots;
    size_t n, i = 0;
    int all_int = 1;

    if (json_object_is_type(obj, json_type_array)) {
        n = json_object_array_length(obj);
        for (i = 0; i < n; i++) {
            struct json_object *v = json_object_array_get_idx(obj, i);

            if ((nv = arrayify(v, depth + 1)) == NULL)
                return NULL;
            if (nv != v && json_object_array_put_idx(obj, i, nv) != 0)
                return NULL;
        }
        return obj;
    }
    if (!json_object_is_type(obj, json_type_object))
        return obj;

    {
        struct json_object_iter it;

        json_object_object_foreachC(obj, it)
        {
            if ((nv = arrayify(it.val, depth + 1)) == NULL)
                return NULL;
            if (nv != it.val) {
                /* replacing the value keeps the key's place in the table */
                json_object_object_add(obj, it.key, nv);
                it.val = nv;
            }
            if (index_of(it.key) < 0)
                all_int = 0;
        }
    }
    n = (size_t)json_object_object_length(obj);
    if (depth == 0 || !all_int || n == 0)
        return obj;

    if ((slots = calloc(n, sizeof(*slots))) == NULL)
        return NULL;
    {
        struct json_object_iter it;

        i = 0;
        json_object_object_foreachC(obj, it)
        {
            slots[i].idx = index_of(it.key);
            slots[i].val = it.val;
            i++;
        }
    }
    qsort(slots, n, sizeof(*slots), slot_cmp);
    if ((arr = json_object_new_array_ext((int)n)) == NULL) {
        free(slots);
        return NULL;
    }
    for (i = 0; i < n; i++)
        json_object_array_add(arr, json_object_get(slots[i].val));
    free(slots);
    /* the caller's replacement of obj in its parent releases obj */
    return arr;
}

static enum tr_err
finish(struct json_object **root, char *msg, size_t msgsz)
{
    if (arrayify(*root, 0) == NULL) {
        json_object_put(*root);
        *root = NULL;
        return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    }
    return TR_OK;
}

/* Inserts one decoded pair, checking the key's shape and the limits. */
static enum tr_err
insert_pair(struct parse *ps, struct json_object *root, const char *key,
            size_t klen, const char *val, size_t vlen, size_t pairno)
{
    struct seg segs[TR_BODY_MAX_DEPTH];
    size_t maxsegs = ps->lim->max_depth;
    int nseg;

    if (maxsegs > TR_BODY_MAX_DEPTH)
        maxsegs = TR_BODY_MAX_DEPTH;
    if (klen > ps->lim->max_key)
        return tr_fail(ps->msg, ps->msgsz, TR_ETOOBIG,
                       "pair %zu: key longer than %zu bytes", pairno,
                       ps->lim->max_key);
    if (!utf8_ok(key, klen) || !utf8_ok(val, vlen))
        return tr_fail(ps->msg, ps->msgsz, TR_EINVAL, "pair %zu: invalid UTF-8",
                       pairno);
    nseg = split_key(key, klen, segs, maxsegs);
    if (nseg == -2)
        return tr_fail(ps->msg, ps->msgsz, TR_ETOOBIG,
                       "pair %zu: key nested deeper than %zu levels", pairno,
                       maxsegs);
    if (nseg < 0)
        return tr_fail(ps->msg, ps->msgsz, TR_EINVAL,
                       "pair %zu: malformed key \"%.*s\"", pairno,
                       (int)(klen < 40 ? klen : 40), key);
    if (insert(root, segs, nseg, val, vlen) != TR_OK)
        return tr_fail(ps->msg, ps->msgsz, TR_ENOMEM, "out of memory");
    return TR_OK;
}

static enum tr_err
parse_form(struct parse *ps, const char *data, size_t len,
           struct json_object **out)
{
    const char *p = data, *end = data + len, *amp, *eq, *why = "";
    struct json_object *root = NULL;
    char *kbuf = NULL, *vbuf = NULL;
    size_t pairs = 0, klen_enc;
    long kn, vn;
    enum tr_err err = TR_OK;

    if ((root = json_object_new_object()) == NULL ||
        (vbuf = malloc(len + 1)) == NULL || (kbuf = malloc(len + 1)) == NULL) {
        err = tr_fail(ps->msg, ps->msgsz, TR_ENOMEM, "out of memory");
        goto out;
    }
    for (; p < end; p = amp + 1) {
        if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
            amp = end;
        if (amp == p)
            continue;
        if (++pairs > ps->lim->max_pairs) {
            err = tr_fail(ps->msg, ps->msgsz, TR_ETOOBIG, "more than %zu pairs",
                          ps->lim->max_pairs);
            goto out;
        }
        eq = memchr(p, '=', (size_t)(amp - p));
        klen_enc = (size_t)((eq ? eq : amp) - p);
        kn = tr_text_url_decode(p, klen_enc, kbuf, &why);
        vn = kn < 0 || eq == NULL
                 ? 0
                 : tr_text_url_decode(eq + 1, (size_t)(amp - eq - 1), vbuf,
                                      &why);
        if (kn < 0 || vn < 0) {
            err = tr_fail(ps->msg, ps->msgsz, TR_EINVAL, "pair %zu: %s", pairs,
                          why);
            goto out;
        }
        err = insert_pair(ps, root, kbuf, (size_t)kn, vbuf, (size_t)vn, pairs);
        if (err != TR_OK)
            goto out;
    }
    if (pairs == 0) {
        err = tr_fail(ps->msg, ps->msgsz, TR_EINVAL, "no key=value pairs");
        goto out;
    }
    err = finish(&root, ps->msg, ps->msgsz);
out:
    free(kbuf);
    free(vbuf);
    if (err != TR_OK) {
        json_object_put(root);
        root = NULL;
    }
    *out = root;
    return err;
}

/* Counts nodes and rejects strings with embedded NUL bytes. */
static enum tr_err
check_json(struct parse *ps, struct json_object *v)
{
    struct json_object_iter it;
    size_t i, n;
    enum tr_err err;

    if (++ps->nodes > ps->lim->max_pairs)
        return tr_fail(ps->msg, ps->msgsz, TR_ETOOBIG,
                       "more than %zu JSON values", ps->lim->max_pairs);
    switch (json_object_get_type(v)) {
    case json_type_string:
        if (strlen(json_object_get_string(v)) !=
            (size_t)json_object_get_string_len(v))
            return tr_fail(ps->msg, ps->msgsz, TR_EINVAL,
                           "NUL byte in a JSON string");
        return TR_OK;
    case json_type_object:
        json_object_object_foreachC(v, it)
        {
            if (strlen(it.key) > ps->lim->max_key)
                return tr_fail(ps->msg, ps->msgsz, TR_ETOOBIG,
                               "JSON key longer than %zu bytes",
                               ps->lim->max_key);
            if ((err = check_json(ps, it.val)) != TR_OK)
                return err;
        }
        return TR_OK;
    case json_type_array:
        n = json_object_array_length(v);
        for (i = 0; i < n; i++)
            if ((err = check_json(ps, json_object_array_get_idx(v, i))) !=
                TR_OK)
                return err;
        return TR_OK;
    default:
        return TR_OK;
    }
}

/*
 * Re-inserts the top-level keys that hold a bracketed path ("flat" JSON)
 * through the form path, so both JSON shapes give the same tree.
 */
static enum tr_err
unflatten(struct parse *ps, struct json_object **rootp)
{
    struct json_object *root = *rootp, *tree = NULL;
    struct json_object_iter it;
    size_t pairno = 0;
    enum tr_err err;
    int flat = 0;

    json_object_object_foreachC(root, it)
    {
        if (strchr(it.key, '[') != NULL)
            flat = 1;
    }
    if (!flat)
        return TR_OK;
    if ((tree = json_object_new_object()) == NULL)
        return tr_fail(ps->msg, ps->msgsz, TR_ENOMEM, "out of memory");
    json_object_object_foreachC(root, it)
    {
        const char *s;
        size_t slen;

        pairno++;
        if (strchr(it.key, '[') == NULL) {
            json_object_object_add(tree, it.key, json_object_get(it.val));
            continue;
        }
        if (json_object_is_type(it.val, json_type_object) ||
            json_object_is_type(it.val, json_type_array)) {
            json_object_put(tree);
            return tr_fail(ps->msg, ps->msgsz, TR_EINVAL,
                           "flat JSON key \"%.40s\" holds a non-scalar",
                           it.key);
        }
        s = json_object_is_type(it.val, json_type_null)
                ? ""
                : json_object_get_string(it.val);
        slen = strlen(s);
        err = insert_pair(ps, tree, it.key, strlen(it.key), s, slen, pairno);
        if (err != TR_OK) {
            json_object_put(tree);
            return err;
        }
    }
    json_object_put(root);
    *rootp = tree;
    return TR_OK;
}

static enum tr_err
parse_json(struct parse *ps, const char *data, size_t len,
           struct json_object **out)
{
    struct json_tokener *tok = NULL;
    struct json_object *root = NULL;
    enum json_tokener_error jerr;
    enum tr_err err = TR_OK;

    *out = NULL;
    if (memchr(data, '\0', len) != NULL)
        return tr_fail(ps->msg, ps->msgsz, TR_EINVAL, "NUL byte in JSON");
    /* json-c's own check lets overlong forms through */
    if (!utf8_ok(data, len))
        return tr_fail(ps->msg, ps->msgsz, TR_EINVAL,
                       "JSON body is not valid UTF-8");
    tok = json_tokener_new_ex((int)ps->lim->max_depth);
    if (tok == NULL)
        return tr_fail(ps->msg, ps->msgsz, TR_ENOMEM, "out of memory");
    json_tokener_set_flags(tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, data, (int)len);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_continue) {
        err = tr_fail(ps->msg, ps->msgsz, TR_EINVAL, "truncated JSON");
        goto out;
    }
    if (jerr != json_tokener_success) {
        err = tr_fail(ps->msg, ps->msgsz,
                      jerr == json_tokener_error_depth ? TR_ETOOBIG : TR_EINVAL,
                      "JSON at offset %zu: %s", json_tokener_get_parse_end(tok),
                      json_tokener_error_desc(jerr));
        goto out;
    }
    if (json_tokener_get_parse_end(tok) < len) {
        err =
            tr_fail(ps->msg, ps->msgsz, TR_EINVAL, "trailing bytes after JSON");
        goto out;
    }
    if (!json_object_is_type(root, json_type_object)) {
        err = tr_fail(ps->msg, ps->msgsz, TR_EINVAL,
                      "JSON body is not an object");
        goto out;
    }
    if ((err = check_json(ps, root)) != TR_OK)
        goto out;
    if ((err = unflatten(ps, &root)) != TR_OK)
        goto out;
    err = finish(&root, ps->msg, ps->msgsz);
out:
    json_tokener_free(tok);
    if (err != TR_OK) {
        json_object_put(root);
        root = NULL;
    }
    *out = root;
    return err;
}

enum tr_err
tr_body_parse(enum tr_body_type type, const char *data, size_t len,
              const struct tr_body_limits *lim, struct json_object **out,
              char *msg, size_t msgsz)
{
    struct parse ps = {lim, 0, msg, msgsz};

    *out = NULL;
    if (len > lim->max_bytes)
        return tr_fail(msg, msgsz, TR_ETOOBIG, "body over %zu bytes",
                       lim->max_bytes);
    if (len == 0)
        return tr_fail(msg, msgsz, TR_EINVAL, "empty body");
    switch (type) {
    case TR_BODY_FORM:
        return parse_form(&ps, data, len, out);
    case TR_BODY_JSON:
        return parse_json(&ps, data, len, out);
    default:
        return tr_fail(msg, msgsz, TR_EINVAL, "unsupported content type");
    }
}
