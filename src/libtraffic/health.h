/*
 * health.h: whether the service can store a sale durably, measured at the
 * request: the database answers a statement within the request's deadline
 * and has the schema this build needs, and the spool takes a file.
 * GET /webhook/amocrm/traffic/test answers it inside the seed's JSON;
 * .../health the same with 503 when neither the database nor the spool
 * can take a sale (for load balancers and monitors).
 */
#ifndef TR_HEALTH_H
#define TR_HEALTH_H

#include <stddef.h>

struct tr_config;
struct tr_store;

struct tr_health {
    int database_ok;     /* it answered */
    int schema_ok;       /* with the schema this build needs */
    int spool_ok;        /* a file could be written there */
    char database[32];   /* "connected", "unavailable" */
    char migrations[64]; /* "current", "pending: 006 of 007", ... */
    char spool[192];     /* "writable", or why not */
};

/* Checks now; a few milliseconds when all is well. */
void tr_health_check(struct tr_store *store, const struct tr_config *cfg,
                     struct tr_health *h);

/* Whether a sale can be made durable: the database, else the spool. */
int tr_health_can_store(const struct tr_health *h);

#endif
