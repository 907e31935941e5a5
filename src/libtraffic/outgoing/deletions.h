/*
 * deletions.h: which leads AmoCRM itself says were deleted.  A lead absent
 * from a list or an answer by id may be deleted, hidden from the token's
 * user, on a page not read, or lost to a glitch: absence is no evidence.
 * The events API is: GET /api/v4/events for lead_deleted and lead_restored
 * of the leads, every page, each request after a slot of the pool's rate.
 */
#ifndef TR_DELETIONS_H
#define TR_DELETIONS_H

#include <stddef.h>
#include <stdint.h>

#include "outgoing/amocrm.h"

struct tr_store;

/*
 * For each of the n leads ids (at most TR_AMO_EVENT_IDS), the time of its
 * deletion in at[k] when its newest such event is lead_deleted, else 0.
 * Returns 1 when the API answered, 0 when it could not be asked (why says
 * why; at is all 0), -1 when the database failed (taking a slot).
 */
int tr_deletions_find(struct tr_amocrm *amo, struct tr_store *store, long rate,
                      const int64_t *ids, size_t n, int64_t *at, char *why,
                      size_t whysz);

#endif
