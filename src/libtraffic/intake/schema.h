/*
 * schema.h: whether the live database takes what this build sends it.
 *
 * A database that is away is waited out (the spool); one that answers and
 * refuses every sale for a reason that will not pass by itself (a column
 * or unique index missing, a right revoked, row level security without a
 * policy for this role, a table of another shape) must be said, at once
 * and by name.  The probe parses every statement of the build against the
 * live schema (tables, columns, types, the unique indexes ON CONFLICT
 * needs), then writes a sale the way a webhook would, reads it back and
 * rolls it all back (rights, row level security, triggers, constraints).
 * It runs at a worker's first health measure, whenever sales wait in the
 * spool while the database answers, in traffic-ctl check and in the
 * sidecar's alerts.
 */
#ifndef TR_SCHEMA_H
#define TR_SCHEMA_H

#include <stddef.h>

#include "base/err.h"

struct tr_sale;

/*
 * Probes the database of sale's store.  Returns how many distinct
 * problems it found (0: it takes sales), with each on a line of out
 * ("statement sale: column ... does not exist"; the first line is the
 * most telling), or -1 when the database could not be asked (msg says
 * why).
 */
int tr_schema_probe(struct tr_sale *sale, char *out, size_t outsz, char *msg,
                    size_t msgsz);

#endif
