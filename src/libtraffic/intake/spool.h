/*
 * spool.h: where an acknowledged request waits while the database is away,
 * as files.
 *
 * When a delivery cannot be committed, the router writes the request (the
 * body and the headers the processing uses) to SPOOL_DIR and still answers
 * 200: temp file, fsync, rename, fsync of the directory, so an entry is
 * either complete or absent.  Entries are named by arrival time, so their
 * sorted names are their order.  An entry that cannot be read, that the
 * database refuses for its data, or that fails TR_SPOOL_TRIES replays
 * with the database answering, is moved to SPOOL_DIR/corrupt, never
 * retried forever.  Replaying them is drain.h's.
 */
#ifndef TR_SPOOL_H
#define TR_SPOOL_H

#include <stddef.h>

#include "base/buf.h"
#include "base/dir.h"
#include "base/err.h"

#define TR_SPOOL_CORRUPT_DIR "corrupt"
#define TR_SPOOL_HEADER_MAX 2048
/* The replays an entry may fail, the database answering, before it is set
 * aside (its count in the hidden file .NAME.tries beside it). */
#define TR_SPOOL_TRIES 5

/* What a spooled request holds. */
struct tr_spool_entry {
    const char *endpoint; /* "traffic" or "unified" */
    const char *content_type;
    const char *request_id;  /* or NULL */
    const char *received_at; /* timestamptz text of the arrival */
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

/*
 * Whether dir takes a file now: creates it if missing, writes and removes
 * a probe file.  TR_EIO with the reason.
 */
enum tr_err tr_spool_probe(const char *dir, char *msg, size_t msgsz);

/* The seconds the oldest entry of dir has waited (0: none); -1 on error. */
long tr_spool_oldest_age(const char *dir);

/* Counts the entries waiting in dir (0 when it does not exist); -1 on error. */
long tr_spool_depth(const char *dir);

/*
 * The names of dir's entries, oldest first (release with
 * tr_dir_list_release either way).  TR_EIO, TR_ENOMEM.
 */
enum tr_err tr_spool_list(const char *dir, struct tr_dir_list *list, char *msg,
                          size_t msgsz);

/*
 * Reads entry name of dir into e, its strings in b (initialised by the
 * caller with room for the largest body and TR_SPOOL_HEADER_MAX).
 * TR_EIO when it cannot be read, TR_EINVAL when it is not a whole entry.
 */
enum tr_err tr_spool_read(const char *dir, const char *name, struct tr_buf *b,
                          struct tr_spool_entry *e, char *msg, size_t msgsz);

/* Removes entry name (after its commit), and its count of tries. */
void tr_spool_remove(const char *dir, const char *name);

/* Counts one more failed replay of entry name; returns the count so far. */
int tr_spool_tried(const char *dir, const char *name);

/*
 * Moves a bad entry into dir/corrupt (leaving it where it is when that
 * fails), with why in NAME.why beside it; msg says where it went.
 */
void tr_spool_set_aside(const char *dir, const char *name, const char *why,
                        char *msg, size_t msgsz);

/* The entries set aside in dir/corrupt (0 when there is none). */
long tr_spool_corrupt(const char *dir);

/* The file in dir that says why the oldest entry's last replay failed. */
#define TR_SPOOL_WHY_FILE ".replay-failed"

/*
 * Records why a replay of the spool failed (why NULL: none failed, the
 * record goes), for the alert and traffic-ctl check.  Best effort.
 */
void tr_spool_note_failure(const char *dir, const char *why);

/* What tr_spool_note_failure recorded into buf ("" when nothing). */
void tr_spool_last_failure(const char *dir, char *buf, size_t bufsz);

#endif
