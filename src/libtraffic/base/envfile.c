/*
 * envfile.c: reading KEY=VALUE lines.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/envfile.h"

static void
trim(char **p, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)(*p)[*n - 1]))
        (*n)--;
}

/*
 * The value's end: a quoted value ends at its closing quote (then only a
 * comment may follow), an unquoted one before " #" (an inline comment).
 * Returns its length, or -1 for a quote left open or text after it.
 */
static long
value_length(const char *val, size_t vn)
{
    const char *close;
    size_t i;

    if (vn > 0 && (val[0] == '"' || val[0] == '\'')) {
        if ((close = memchr(val + 1, val[0], vn - 1)) == NULL)
            return -1;
        for (i = (size_t)(close - val) + 1;
             i < vn && isspace((unsigned char)val[i]); i++)
            ;
        return i == vn || val[i] == '#' ? close - val + 1 : -1;
    }
    for (i = 1; i < vn; i++)
        if (val[i] == '#' && isspace((unsigned char)val[i - 1]))
            break;
    while (i > 0 && isspace((unsigned char)val[i - 1]))
        i--;
    return (long)i;
}

/* Warns (into warn) when key was set before, naming both lines. */
static void
repeated(struct tr_envfile_seen *seen, const char *key, const char *path,
         size_t lineno, char *warn, size_t warnsz)
{
    size_t i, o = strlen(warn);

    for (i = 0; i < seen->n; i++) {
        if (strcmp(seen->keys[i], key) != 0)
            continue;
        snprintf(warn + o, warnsz - o,
                 "%s%s:%zu: %s repeats line %zu; the last one counts",
                 o ? "\n" : "", path, lineno, key, seen->lines[i]);
        seen->lines[i] = lineno;
        return;
    }
    if (seen->n < TR_ENVFILE_KEYS && strlen(key) < sizeof(seen->keys[0])) {
        snprintf(seen->keys[seen->n], sizeof(seen->keys[0]), "%s", key);
        seen->lines[seen->n++] = lineno;
    }
}

static enum tr_err
parse_line(const struct tr_envfile_sink *sink, char *line, size_t n,
           const char *path, size_t lineno, char *msg, size_t msgsz)
{
    char *eq, *key, *val;
    size_t kn, vn, i;
    long len;

    trim(&line, &n);
    if (n == 0 || line[0] == '#')
        return TR_OK;
    if (n > 7 && strncmp(line, "export", 6) == 0 &&
        isspace((unsigned char)line[6])) {
        line += 7;
        n -= 7;
        trim(&line, &n);
    }
    if ((eq = memchr(line, '=', n)) == NULL)
        return tr_fail(msg, msgsz, TR_ECONFIG, "%s:%zu: expected KEY=VALUE",
                       path, lineno);
    key = line;
    kn = (size_t)(eq - line);
    trim(&key, &kn);
    val = eq + 1;
    vn = n - (size_t)(val - line);
    trim(&val, &vn);
    if (kn == 0)
        return tr_fail(msg, msgsz, TR_ECONFIG, "%s:%zu: empty key", path,
                       lineno);
    for (i = 0; i < kn; i++)
        if (!isalnum((unsigned char)key[i]) && key[i] != '_')
            return tr_fail(msg, msgsz, TR_ECONFIG, "%s:%zu: bad key name", path,
                           lineno);
    if ((len = value_length(val, vn)) < 0)
        return tr_fail(msg, msgsz, TR_ECONFIG,
                       "%s:%zu: a quote left open, or text after it", path,
                       lineno);
    vn = (size_t)len;
    if (vn >= 2 && (val[0] == '"' || val[0] == '\'') && val[vn - 1] == val[0]) {
        val++;
        vn -= 2;
    }
    key[kn] = '\0';
    val[vn] = '\0';
    if (sink->warn != NULL)
        repeated(sink->seen, key, path, lineno, sink->warn, sink->warnsz);
    return sink->set(sink->arg, key, val, msg, msgsz);
}

enum tr_err
tr_envfile_read(const char *path, int required,
                const struct tr_envfile_sink *sink, int *found, char *msg,
                size_t msgsz)
{
    struct tr_buf b;
    char *p, *nl;
    size_t lineno = 0;
    enum tr_err err;

    if (!required && access(path, F_OK) != 0 && errno == ENOENT)
        return TR_OK;
    tr_buf_init(&b, TR_ENVFILE_MAX);
    if ((err = tr_buf_read_file(&b, path, msg, msgsz)) != TR_OK) {
        err = TR_ECONFIG;
        goto out;
    }
    if (b.data == NULL)
        goto out; /* an empty file sets nothing */
    if (memchr(b.data, '\0', b.len) != NULL) {
        err = tr_fail(msg, msgsz, TR_ECONFIG, "\"%s\" is binary", path);
        goto out;
    }
    p = b.data;
    if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a UTF-8 byte-order mark, as some editors write */
    for (; *p != '\0' && err == TR_OK; p = nl ? nl + 1 : p + strlen(p)) {
        lineno++;
        nl = strchr(p, '\n');
        err = parse_line(sink, p, nl ? (size_t)(nl - p) : strlen(p), path,
                         lineno, msg, msgsz);
    }
out:
    if (err == TR_OK)
        *found = 1;
    tr_buf_release(&b);
    return err;
}
