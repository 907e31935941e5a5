/*
 * envfile.c: reading KEY=VALUE lines.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "envfile.h"

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

static enum tr_err
parse_line(const struct tr_envfile_sink *sink, char *line, size_t n,
           const char *path, size_t lineno, char *msg, size_t msgsz)
{
    char *eq, *key, *val;
    size_t kn, vn, i;

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
    if (vn >= 2 && (val[0] == '"' || val[0] == '\'') && val[vn - 1] == val[0]) {
        val++;
        vn -= 2;
    }
    key[kn] = '\0';
    val[vn] = '\0';
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
    for (p = b.data; *p != '\0' && err == TR_OK;
         p = nl ? nl + 1 : p + strlen(p)) {
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
