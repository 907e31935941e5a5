/*
 * spool.h: where an acknowledged request waits while the database is away.
 *
 * When a delivery cannot be committed, the handler writes the request (the
 * body and the headers the processing uses) to SPOOL_DIR and still answers
 * 200: temp file, fsync, rename, fsync of the directory, so an entry is
 * either complete or absent.  Entries are named by arrival time and drained
 * in that order through the same processing as a live request (idempotent:
 * the UNIQUE lead_id turns a replay of a stored sale into a duplicate), and
 * removed only after their commit.  An entry that cannot be read or parsed
 * is moved to SPOOL_DIR/corrupt, never retried forever.
 */
#ifndef TR_SPOOL_H
#define TR_SPOOL_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "handler.h"

#define TR_SPOOL_CORRUPT_DIR "corrupt"

/* What a spooled request holds. */
struct tr_spool_entry {
    enum tr_endpoint endpoint;  /* which webhook it came to */
    const char *content_type;
    const char *request_id;     /* or NULL */
    const char *received_at;    /* timestamptz text of the arrival */
    const char *body;
    size_t body_len;
};

/*
 * Writes e durably into dir (created if missing, mode 0700), named after
 * its arrival (sec, nsec).  TR_EIO with the reason in msg when any step
 * fails; no partial entry is left behind.
 */
enum tr_err tr_spool_write(const char *dir, const struct tr_spool_entry *e,
                           long long sec, long nsec, char *msg, size_t msgsz);

/* Counts the entries waiting in dir (0 when it does not exist); -1 on error. */
long tr_spool_depth(const char *dir);

struct tr_spool_stats {
    size_t replayed, corrupt, left;
};

/*
 * Replays the entries of dir, oldest first, through h (tr_handler_process),
 * removing each after its commit; stops at the first one the database did
 * not take (TR_EDB / TR_EDBDOWN, the rest stay for later).  A line per entry
 * goes to out when out is not NULL.
 */
enum tr_err tr_spool_drain(const char *dir, struct tr_handler *h, FILE *out,
                           struct tr_spool_stats *st, char *msg,
                           size_t msgsz);

#endif
