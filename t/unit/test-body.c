/*
 * test-body: the body parser, table-driven: the wire forms AmoCRM sends,
 * JSON replays, and the hostile cases (truncated escapes, NUL, overlong
 * UTF-8, too many pairs, too deep keys, huge indexes, duplicates, empty).
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "libtraffic/intake/body.h"
#include "libtraffic/base/buf.h"
#include "libtraffic/base/config.h"
#include "libtraffic/intake/pipeline.h"
#include "libtraffic/base/text.h"
#include "tap.h"

struct want_ok {
    enum tr_body_type type;
    const char *body;
    const char *json; /* the expected tree, compact */
    const char *name;
};

static const struct want_ok good[] = {
    {TR_BODY_FORM, "a=1", "{\"a\":\"1\"}", "one pair"},
    {TR_BODY_FORM, "a%5Bb%5D=c+d", "{\"a\":{\"b\":\"c d\"}}",
     "encoded brackets, + is a space"},
    {TR_BODY_FORM, "a[b]=c%20d", "{\"a\":{\"b\":\"c d\"}}", "raw brackets"},
    {TR_BODY_FORM, "leads[status][0][id]=1&leads[status][0][status_id]=142",
     "{\"leads\":{\"status\":[{\"id\":\"1\",\"status_id\":\"142\"}]}}",
     "numeric segment becomes an array"},
    {TR_BODY_FORM, "x[7]=b&x[2]=a", "{\"x\":[\"a\",\"b\"]}",
     "sparse, out-of-order indexes in index order"},
    {TR_BODY_FORM, "x[99999999999]=a", "{\"x\":[\"a\"]}",
     "an 11-digit index is one position"},
    {TR_BODY_FORM, "x[0]=a&x[k]=b", "{\"x\":{\"0\":\"a\",\"k\":\"b\"}}",
     "mixed keys stay an object"},
    {TR_BODY_FORM, "x[007]=a", "{\"x\":{\"007\":\"a\"}}",
     "non-canonical index is a name"},
    {TR_BODY_FORM, "a=1&a=2", "{\"a\":\"2\"}", "duplicate key: last wins"},
    {TR_BODY_FORM, "a=1&a[b]=2", "{\"a\":{\"b\":\"2\"}}",
     "a string replaced by an object"},
    {TR_BODY_FORM, "a[]=x&a[]=y", "{\"a\":[\"x\",\"y\"]}", "[] appends"},
    {TR_BODY_FORM, "a=&b", "{\"a\":\"\",\"b\":\"\"}", "empty values"},
    {TR_BODY_FORM, "&&a=1&", "{\"a\":\"1\"}", "empty pairs skipped"},
    {TR_BODY_FORM, "n=%D0%97%D0%90%D0%9F%D0%A3%D0%A1%D0%9A",
     "{\"n\":\"ЗАПУСК\"}", "Cyrillic"},
    {TR_BODY_FORM, "t=a%0Ab%09c%C2%A0%26amp%3B",
     "{\"t\":\"a\\nb\\tc\xC2\xA0&amp;\"}", "newline, tab, NBSP, entity kept"},
    {TR_BODY_JSON, "{\"leads\":{\"status\":{\"0\":{\"id\":\"5\"}}}}",
     "{\"leads\":{\"status\":[{\"id\":\"5\"}]}}",
     "JSON with numeric keys becomes arrays"},
    {TR_BODY_JSON, "{\"leads[status][0][id]\":\"5\",\"x\":1}",
     "{\"leads\":{\"status\":[{\"id\":\"5\"}]},\"x\":1}",
     "flat JSON (framework dump) unflattened"},
    {TR_BODY_JSON, "{\"leads\":{\"status\":[{\"id\":5}]}}",
     "{\"leads\":{\"status\":[{\"id\":5}]}}", "JSON arrays kept"},
};

struct want_err {
    enum tr_body_type type;
    const char *body;
    size_t len; /* 0: strlen */
    enum tr_err err;
    const char *msg_has;
    const char *name;
};

static const struct want_err bad[] = {
    {TR_BODY_FORM, "a=%4", 0, TR_EINVAL, "truncated", "truncated escape %4"},
    {TR_BODY_FORM, "a=%", 0, TR_EINVAL, "truncated", "lone %"},
    {TR_BODY_FORM, "a=%ZZ", 0, TR_EINVAL, "malformed", "non-hex escape %ZZ"},
    {TR_BODY_FORM, "a=%00", 0, TR_EINVAL, "NUL", "encoded NUL"},
    {TR_BODY_FORM, "a=b\0c", 5, TR_EINVAL, "NUL", "raw NUL"},
    {TR_BODY_FORM, "a=%C0%AF", 0, TR_EINVAL, "UTF-8", "overlong UTF-8"},
    {TR_BODY_FORM, "a=%ED%A0%80", 0, TR_EINVAL, "UTF-8", "UTF-16 surrogate"},
    {TR_BODY_FORM, "a=%FF", 0, TR_EINVAL, "UTF-8", "invalid byte"},
    {TR_BODY_FORM, "%C0%AF=1", 0, TR_EINVAL, "UTF-8", "invalid UTF-8 key"},
    {TR_BODY_FORM, "=1", 0, TR_EINVAL, "malformed key", "empty key"},
    {TR_BODY_FORM, "a[b=1", 0, TR_EINVAL, "malformed key", "unclosed ["},
    {TR_BODY_FORM, "a[b]c=1", 0, TR_EINVAL, "malformed key", "text after ]"},
    {TR_BODY_FORM, "[a]=1", 0, TR_EINVAL, "malformed key", "no base name"},
    {TR_BODY_FORM, "", 0, TR_EINVAL, "empty", "empty body"},
    {TR_BODY_FORM, "&&&", 0, TR_EINVAL, "no key", "only separators"},
    {TR_BODY_JSON, "[1,2]", 0, TR_EINVAL, "not an object", "JSON array"},
    {TR_BODY_JSON, "{\"a\":", 0, TR_EINVAL, "truncated", "truncated JSON"},
    {TR_BODY_JSON, "{\"a\":1} x", 0, TR_EINVAL, "JSON", "trailing bytes"},
    {TR_BODY_JSON, "{\"a\":\"\\u0000\"}", 0, TR_EINVAL, "NUL",
     "JSON NUL escape"},
    {TR_BODY_JSON, "{\"a\":\"\xC0\xAF\"}", 0, TR_EINVAL, "JSON",
     "JSON overlong UTF-8"},
    {TR_BODY_JSON, "{\"a[b]\":{\"c\":1}}", 0, TR_EINVAL, "non-scalar",
     "flat key with an object"},
    {TR_BODY_JSON, "\x01\x02\xff", 3, TR_EINVAL, "JSON", "binary garbage"},
};

static char *
repeat(const char *unit, size_t n, const char *tail)
{
    size_t u = strlen(unit), t = strlen(tail), i;
    char *s = malloc(u * n + t + 1), *p = s;

    for (i = 0; i < n; i++, p += u)
        memcpy(p, unit, u);
    memcpy(p, tail, t + 1);
    return s;
}

/* "a" and levels more segments seg, "=1": a key of levels + 1 segments. */
static char *
deep_key(const char *seg, size_t levels)
{
    char *tail = repeat(seg, levels, "=1"), *s;
    size_t n = strlen(tail) + 2;

    if ((s = malloc(n)) != NULL)
        snprintf(s, n, "a%s", tail);
    free(tail);
    return s;
}

static void
limits(void)
{
    struct tr_body_limits lim;
    struct json_object *tree;
    char msg[256], *body, unit[32];
    enum tr_err err;
    size_t i, len;

    tr_body_limits_init(&lim, 4 * 1024 * 1024);

    /* 10,000 pairs: within the limit, all kept */
    body = malloc(10000 * 24);
    len = 0;
    for (i = 0; i < 10000; i++)
        len += (size_t)snprintf(body + len, 24, "%sk%zu=v", i ? "&" : "", i);
    err = tr_body_parse(TR_BODY_FORM, body, len, &lim, &tree, msg, sizeof(msg));
    ok(err == TR_OK && json_object_object_length(tree) == 10000,
       "10,000 pairs parse");
    json_object_put(tree);
    free(body);

    /* over the pair limit */
    lim.max_pairs = 100;
    body = repeat("a=1&", 101, "");
    err = tr_body_parse(TR_BODY_FORM, body, strlen(body), &lim, &tree, msg,
                        sizeof(msg));
    ok(err == TR_ETOOBIG && strstr(msg, "more than 100 pairs") && !tree,
       "pair limit: %s", msg);
    free(body);
    tr_body_limits_init(&lim, 4 * 1024 * 1024);

    /* a 64-level key */
    body = deep_key("[b]", 63);
    err = tr_body_parse(TR_BODY_FORM, body, strlen(body), &lim, &tree, msg,
                        sizeof(msg));
    ok(err == TR_ETOOBIG && strstr(msg, "deeper") != NULL,
       "64-level key refused: %s", msg);
    free(body);

    /* 16 levels are fine */
    body = deep_key("[0]", 15);
    err = tr_body_parse(TR_BODY_FORM, body, strlen(body), &lim, &tree, msg,
                        sizeof(msg));
    ok(err == TR_OK, "16 levels accepted");
    json_object_put(tree);
    free(body);

    /* 1,000-level JSON */
    body = repeat("[", 1000, "");
    err = tr_body_parse(TR_BODY_JSON, body, strlen(body), &lim, &tree, msg,
                        sizeof(msg));
    ok(err != TR_OK && tree == NULL, "1,000-level JSON refused: %s", msg);
    free(body);
    body = repeat("{\"a\":", 1000, "1");
    err = tr_body_parse(TR_BODY_JSON, body, strlen(body), &lim, &tree, msg,
                        sizeof(msg));
    ok(err == TR_ETOOBIG, "1,000 nested objects: too deep: %s", msg);
    free(body);

    /* long key */
    body = repeat("k", 600, "=1");
    err = tr_body_parse(TR_BODY_FORM, body, strlen(body), &lim, &tree, msg,
                        sizeof(msg));
    ok(err == TR_ETOOBIG && strstr(msg, "longer"), "600-byte key: %s", msg);
    free(body);

    /* body size */
    lim.max_bytes = 10;
    err = tr_body_parse(TR_BODY_FORM, "a=123456789", 11, &lim, &tree, msg,
                        sizeof(msg));
    ok(err == TR_ETOOBIG, "body over max_bytes: %s", msg);

    /* a value that is all escapes decodes to a third of its size */
    tr_body_limits_init(&lim, 4 * 1024 * 1024);
    snprintf(unit, sizeof(unit), "%%41");
    body = repeat(unit, 100000, "");
    len = strlen(body);
    {
        char *full = malloc(len + 3);

        memcpy(full, "v=", 2);
        memcpy(full + 2, body, len + 1);
        err = tr_body_parse(TR_BODY_FORM, full, len + 2, &lim, &tree, msg,
                            sizeof(msg));
        ok(err == TR_OK && json_object_get_string_len(
                               json_object_object_get(tree, "v")) == 100000,
           "100,000 escapes decode");
        json_object_put(tree);
        free(full);
    }
    free(body);
}

/* The body kept in webhook_logs: valid UTF-8 without NUL, bounded. */
static void
log_body(void)
{
    static const struct {
        const char *name, *in;
        size_t len, max;
        const char *want;
    } t[] = {
        {"valid UTF-8 kept whole", "a=\xd0\x9c\xd1\x83&b=1", 0, 64,
         "a=\xd0\x9c\xd1\x83&b=1"},
        {"a bad byte replaced", "a=\xff&b", 0, 64, "a=\xef\xbf\xbd&b"},
        {"a cut sequence replaced", "a=\xd0", 0, 64, "a=\xef\xbf\xbd"},
        {"NUL replaced", "a\0b", 3, 64,
         "a\xef\xbf\xbd"
         "b"},
        {"too long: cut and said", "abcdefghij", 0, 4,
         "abcd...[truncated, 10 bytes in all]"},
        {"exactly the bound: whole", "abcd", 0, 4, "abcd"},
    };
    struct tr_buf b;
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        tr_buf_init(&b, 1024);
        ok(tr_text_sanitize(&b, t[i].in, t[i].len ? t[i].len : strlen(t[i].in),
                            t[i].max) == TR_OK,
           "%s: sanitised", t[i].name);
        is_str(b.data ? b.data : "", t[i].want, "%s", t[i].name);
        tr_buf_release(&b);
    }
}

int
main(void)
{
    struct tr_body_limits lim;
    struct json_object *tree;
    char msg[256];
    enum tr_err err;
    size_t i;

    tr_body_limits_init(&lim, TR_BODY_MAX_BYTES_DEFAULT);
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        err = tr_body_parse(good[i].type, good[i].body, strlen(good[i].body),
                            &lim, &tree, msg, sizeof(msg));
        if (err != TR_OK) {
            ok(0, "%s: %s", good[i].name, msg);
            continue;
        }
        is_str(json_object_to_json_string_ext(tree, JSON_C_TO_STRING_PLAIN),
               good[i].json, "%s", good[i].name);
        json_object_put(tree);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].body);

        msg[0] = '\0';
        err = tr_body_parse(bad[i].type, bad[i].body, len, &lim, &tree, msg,
                            sizeof(msg));
        ok(err == bad[i].err && tree == NULL &&
               strstr(msg, bad[i].msg_has) != NULL,
           "%s: %s (error %d)", bad[i].name, msg, (int)err);
        json_object_put(tree);
    }
    ok(tr_body_type_of("application/x-www-form-urlencoded; charset=UTF-8") ==
           TR_BODY_FORM,
       "form content type with charset");
    ok(tr_body_type_of("Application/JSON") == TR_BODY_JSON,
       "JSON content type, any case");
    ok(tr_body_type_of("text/plain") == TR_BODY_UNSUPPORTED &&
           tr_body_type_of(NULL) == TR_BODY_UNSUPPORTED &&
           tr_body_type_of("application/x-www-form-urlencodedX") ==
               TR_BODY_UNSUPPORTED,
       "other content types unsupported");
    limits();
    log_body();
    return done_testing();
}
