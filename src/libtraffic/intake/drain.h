/*
 * drain.h: replaying the spool once the database answers again.
 *
 * Entries go oldest first through the pipeline a live request takes, with
 * their original arrival time, and each is removed only after its commit.
 * A replay is idempotent: the UNIQUE lead_id turns a stored sale into a
 * duplicate.  The first entry the database does not take stops the drain
 * (it and the rest stay for the next one); an entry that is unreadable, or
 * that the pipeline refuses for good (a bad body), is set aside.
 */
#ifndef TR_DRAIN_H
#define TR_DRAIN_H

#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

struct tr_pipeline;

struct tr_drain_stats {
    size_t replayed, corrupt, left;
};

/*
 * Drains dir through p into st; a line per entry goes to out when out is
 * not NULL.  TR_EDB / TR_EDBDOWN when the database stopped it, TR_EIO when
 * the directory cannot be read.
 */
enum tr_err tr_drain_run(const char *dir, struct tr_pipeline *p, FILE *out,
                         struct tr_drain_stats *st, char *msg, size_t msgsz);

#endif
