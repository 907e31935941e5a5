/*
 * envfile.h: the env file format, the seed's env.env: KEY=VALUE lines,
 * "#" comment lines, an optional "export " before the key, optional quotes
 * around the value, spaces around either ignored.  An unquoted value ends
 * before " #" (an inline comment); a quoted one at its closing quote.  A
 * UTF-8 byte-order mark at the start is skipped; a key set twice is a
 * warning naming both lines (the last one counts).
 */
#ifndef TR_ENVFILE_H
#define TR_ENVFILE_H

#include <stddef.h>

#include "base/err.h"

#define TR_ENVFILE_MAX (64 * 1024)
#define TR_ENVFILE_KEYS 128

/* The keys a file set so far, and on which line. */
struct tr_envfile_seen {
    char keys[TR_ENVFILE_KEYS][48];
    size_t lines[TR_ENVFILE_KEYS];
    size_t n;
};

/* Where each KEY=VALUE goes; a failure stops the reading.  With warn, the
 * warnings are appended to it (lines), seen keeping the keys. */
struct tr_envfile_sink {
    enum tr_err (*set)(void *arg, const char *key, const char *value, char *msg,
                       size_t msgsz);
    void *arg;
    char *warn;
    size_t warnsz;
    struct tr_envfile_seen *seen;
};

/*
 * Reads the file at path and hands every KEY=VALUE line to sink, in order.
 * A missing file is TR_OK (*found stays 0) unless required; *found is 1
 * when the whole file was read.  TR_ECONFIG with "path:line: reason" for a
 * syntax error, or naming the file when it cannot be read or is binary.
 */
enum tr_err tr_envfile_read(const char *path, int required,
                            const struct tr_envfile_sink *sink, int *found,
                            char *msg, size_t msgsz);

#endif
