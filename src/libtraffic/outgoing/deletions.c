/*
 * deletions.c: the events API asked which leads were deleted.
 */
#include <string.h>

#include "outgoing/amorate.h"
#include "outgoing/deletions.h"
#include "base/metrics.h"

#define PAGES_MAX 100
#define SLOT_WAIT 60.0 /* a batch job waits for its slot */

int
tr_deletions_find(struct tr_amocrm *amo, struct tr_store *store, long rate,
                  const int64_t *ids, size_t n, int64_t *at, char *why,
                  size_t whysz)
{
    int64_t newest[TR_AMO_EVENT_IDS] = {0};
    int gone[TR_AMO_EVENT_IDS] = {0};
    struct tr_amo_events ev;
    enum tr_amo_status s = TR_AMO_OK;
    int page, more = 1;
    size_t i, k;

    memset(at, 0, n * sizeof(*at));
    for (page = 1; more && page <= PAGES_MAX && s == TR_AMO_OK; page++) {
        if (tr_amorate_take(store, rate, SLOT_WAIT, why, whysz) < 0)
            return -1;
        s = tr_amocrm_lead_events(amo, ids, n, page, &ev, why, whysz);
        tr_metrics_amocrm((int)s);
        for (i = 0; s == TR_AMO_OK && i < ev.n; i++)
            for (k = 0; k < n; k++)
                if (ev.v[i].lead_id == ids[k] &&
                    ev.v[i].created_at >= newest[k]) {
                    newest[k] = ev.v[i].created_at;
                    gone[k] = ev.v[i].deleted;
                }
        more = s == TR_AMO_OK && ev.more;
        tr_amo_events_release(&ev);
    }
    if (s != TR_AMO_OK)
        return 0;
    for (k = 0; k < n; k++)
        at[k] = gone[k] ? newest[k] : 0;
    return 1;
}
