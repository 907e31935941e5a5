/*
 * health.c: a statement to the database, a file in the spool.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db/rows.h"
#include "base/config.h"
#include "observe/health.h"
#include "db/migrate.h"
#include "intake/sale.h"
#include "intake/schema.h"
#include "intake/spool.h"
#include "sql.h"
#include "db/store.h"
#include "base/text.h"

static void
check_database(struct tr_store *store, struct tr_health *h)
{
    char msg[256];
    struct tr_rows *res;
    const char *v;

    snprintf(h->database, sizeof(h->database), "unavailable");
    snprintf(h->migrations, sizeof(h->migrations), "unknown");
    if ((res = tr_store_query_prepared(store, tr_sql_health_schema, 0, NULL,
                                       msg, sizeof(msg))) == NULL) {
        if (tr_store_connected(store)) {
            /* it answers, without schema_migrations */
            h->database_ok = 1;
            snprintf(h->database, sizeof(h->database), "connected");
            snprintf(h->migrations, sizeof(h->migrations), "not applied");
        }
        return;
    }
    h->database_ok = 1;
    snprintf(h->database, sizeof(h->database), "connected");
    v = tr_rows_text(res, 0, "version");
    h->schema_ok = strcmp(v, TR_SCHEMA_VERSION) >= 0;
    if (h->schema_ok)
        snprintf(h->migrations, sizeof(h->migrations), "current");
    else
        snprintf(h->migrations, sizeof(h->migrations),
                 "pending: %s of %s applied", v[0] ? v : "none",
                 TR_SCHEMA_VERSION);
    tr_rows_free(res);
}

void
tr_health_check(struct tr_store *store, const struct tr_config *cfg,
                struct tr_health *h)
{
    char why[160];

    memset(h, 0, sizeof(*h));
    check_database(store, h);
    h->spool_ok = tr_spool_probe(cfg->spool_dir, why, sizeof(why)) == TR_OK;
    snprintf(h->spool, sizeof(h->spool), "%s", h->spool_ok ? "writable" : why);
    h->waiting = tr_spool_depth(cfg->spool_dir);
}

/*
 * The refusal probe, when due: at the first measure, and at most once a
 * second while sales wait in the spool of a database that answers, or the
 * last probe found a refusal.  Its finding goes into h.
 */
static void
probe_refusal(struct tr_health_cache *c, struct tr_sale *sale,
              struct tr_health *h, const struct timespec *now)
{
    char found[1024], msg[256];
    size_t n;

    if (!h->database_ok || !h->schema_ok)
        return;
    if (c->probed.tv_sec == 0 ||
        ((h->waiting > 0 || c->refuses[0] != '\0') &&
         tr_ms_since(&c->probed, now) >= TR_HEALTH_FRESH_MS)) {
        c->probed = *now;
        if (tr_schema_probe(sale, found, sizeof(found), msg, sizeof(msg)) < 0)
            return; /* away meanwhile: the next measure says so */
        n = strcspn(found, "\n");
        snprintf(c->refuses, sizeof(c->refuses), "%.*s", (int)n, found);
    }
    if (c->refuses[0] != '\0') {
        h->refusing = 1;
        snprintf(h->database, sizeof(h->database), "refuses sales: %s",
                 c->refuses);
    }
}

void
tr_health_get(struct tr_health_cache *c, struct tr_sale *sale,
              const struct tr_config *cfg, struct tr_health *h)
{
    const struct tr_health *l = &c->last;
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (c->at.tv_sec != 0 && l->database_ok && l->schema_ok && l->spool_ok &&
        !l->refusing && l->waiting == 0 &&
        tr_ms_since(&c->at, &now) < TR_HEALTH_FRESH_MS &&
        tr_store_alive(sale->store)) {
        *h = *l;
        return;
    }
    tr_health_check(sale->store, cfg, h);
    probe_refusal(c, sale, h, &now);
    if (c->at.tv_sec == 0 || memcmp(h, l, sizeof(*h)) != 0)
        c->changes++;
    c->last = *h;
    c->at = now;
}

int
tr_health_can_store(const struct tr_health *h)
{
    return !h->refusing && ((h->database_ok && h->schema_ok) || h->spool_ok);
}
