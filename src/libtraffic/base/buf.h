/*
 * buf.h: a growable byte buffer with a hard maximum (after curl's dynbuf).
 *
 * Every buffer that grows from untrusted input has a maximum; appending past
 * it fails with TR_ETOOBIG and leaves the buffer as it was.  The contents are
 * always NUL-terminated, so b->data can be used as a C string when the
 * appended bytes hold no NUL.
 */
#ifndef TR_BUF_H
#define TR_BUF_H

#include <stddef.h>

#include "base/err.h"

struct tr_buf {
    char *data; /* NULL until the first append */
    size_t len; /* bytes used, not counting the terminating NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* the most len may ever be */
};

/* Fills a caller-owned buffer that may hold at most max bytes. */
void tr_buf_init(struct tr_buf *b, size_t max);

/* Frees what b owns; b can be used again after tr_buf_init. */
void tr_buf_release(struct tr_buf *b);

/* Empties b, keeping its memory. */
void tr_buf_reset(struct tr_buf *b);

/* Appends n bytes; TR_ETOOBIG past the maximum, TR_ENOMEM. */
enum tr_err tr_buf_add(struct tr_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string. */
enum tr_err tr_buf_adds(struct tr_buf *b, const char *s);

/* Appends printf-style output. */
enum tr_err tr_buf_addf(struct tr_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Appends the contents of the file at path.  TR_EIO when it cannot be opened
 * or read or is neither a regular file nor a device (a FIFO is never
 * waited on), TR_ETOOBIG when
 * it is larger than what b may hold; msg names the file either way.
 */
enum tr_err tr_buf_read_file(struct tr_buf *b, const char *path, char *msg,
                             size_t msgsz);

/*
 * Hands the contents to the caller (free() it) and empties b.  Returns an
 * allocated empty string for an empty buffer, NULL only without memory.
 */
char *tr_buf_detach(struct tr_buf *b);

#endif
