/*
 * buf.c: the bounded growable buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"

void
tr_buf_init(struct tr_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void
tr_buf_release(struct tr_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void
tr_buf_reset(struct tr_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static enum tr_err
grow(struct tr_buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (n > b->max || b->len > b->max - n)
        return TR_ETOOBIG;
    need = b->len + n + 1;
    if (need <= b->cap)
        return TR_OK;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return TR_ENOMEM;
    b->data = p;
    b->cap = cap;
    return TR_OK;
}

enum tr_err
tr_buf_add(struct tr_buf *b, const void *p, size_t n)
{
    enum tr_err err;

    if ((err = grow(b, n)) != TR_OK)
        return err;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return TR_OK;
}

enum tr_err
tr_buf_adds(struct tr_buf *b, const char *s)
{
    return tr_buf_add(b, s, strlen(s));
}

enum tr_err
tr_buf_addf(struct tr_buf *b, const char *fmt, ...)
{
    va_list ap;
    enum tr_err err;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TR_EINVAL;
    if ((err = grow(b, (size_t)n)) != TR_OK)
        return err;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return TR_OK;
}

char *
tr_buf_detach(struct tr_buf *b)
{
    char *p = b->data;

    if (p == NULL)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

enum tr_err
tr_buf_read_file(struct tr_buf *b, const char *path, char *msg, size_t msgsz)
{
    char chunk[8192];
    enum tr_err err = TR_OK;
    struct stat sb;
    size_t got;
    FILE *f;
    int fd;

    /* a FIFO or a device in its place must not hold the reader forever */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
        return tr_fail(msg, msgsz, TR_EIO, "open \"%s\" failed: %s", path,
                       strerror(errno));
    /* (/dev/null reads as empty; a FIFO opened so never blocks a read) */
    if (fstat(fd, &sb) != 0 || !(S_ISREG(sb.st_mode) || S_ISCHR(sb.st_mode))) {
        close(fd);
        return tr_fail(msg, msgsz, TR_EIO, "\"%s\" is not a regular file",
                       path);
    }
    if ((f = fdopen(fd, "rb")) == NULL) {
        close(fd);
        return tr_fail(msg, msgsz, TR_EIO, "open \"%s\" failed: %s", path,
                       strerror(errno));
    }
    while (err == TR_OK && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if ((err = tr_buf_add(b, chunk, got)) != TR_OK)
            tr_fail(msg, msgsz, err, "\"%s\" is larger than %zu bytes", path,
                    b->max);
    if (err == TR_OK && ferror(f))
        err = tr_fail(msg, msgsz, TR_EIO, "read \"%s\" failed", path);
    fclose(f);
    return err;
}
