/*
 * health.h: whether the service can store a sale durably: the database
 * answers a statement within the request's deadline and has the schema
 * this build needs, and the spool takes a file.  A worker measures it at
 * most TR_HEALTH_FRESH_MS apart while all is well, and on every request
 * while anything is not; a connection the server closed (a stop, a
 * restart, a terminated backend) is seen at the next request, by reading
 * the socket, without a round trip.
 * A database that answers but refuses sales (schema.h) is no "all is
 * well": the probe runs at a worker's first measure and, at most once a
 * second, while sales wait in the spool or it last found a refusal.
 * GET /webhook/amocrm/traffic/test answers it inside the seed's JSON;
 * .../health the same with 503 when neither the database nor the spool
 * can take a sale, or the database refuses sales (for load balancers and
 * monitors).
 */
#ifndef TR_HEALTH_H
#define TR_HEALTH_H

#include <stddef.h>
#include <time.h>

/* How long a worker's "all is well" stands before it asks again. */
#define TR_HEALTH_FRESH_MS 1000

struct tr_config;
struct tr_sale;
struct tr_store;

struct tr_health {
    int database_ok;     /* it answered */
    int schema_ok;       /* with the schema this build needs */
    int spool_ok;        /* a file could be written there */
    int refusing;        /* it answers and refuses sales */
    long waiting;        /* requests in the spool */
    char database[256];  /* "connected", "unavailable", "refuses sales: "*/
    char migrations[64]; /* "current", "pending: 006 of 007", ... */
    char spool[192];     /* "writable", or why not */
};

/* A worker's last measure, and when it was taken. */
struct tr_health_cache {
    struct tr_health last;
    struct timespec at;     /* CLOCK_MONOTONIC; 0: never */
    unsigned changes;       /* how often a measure differed from the last */
    struct timespec probed; /* the refusal probe's last run; 0: never */
    char refuses[200];      /* what it found ("": nothing) */
};

/* Checks now; a few milliseconds when all is well. */
void tr_health_check(struct tr_store *store, const struct tr_config *cfg,
                     struct tr_health *h);

/* The health by c: its last measure while all was well within
 * TR_HEALTH_FRESH_MS and the connection is still open, else checked now
 * (and kept in c), with the refusal probe on sale's store when due. */
void tr_health_get(struct tr_health_cache *c, struct tr_sale *sale,
                   const struct tr_config *cfg, struct tr_health *h);

/* Whether a sale can be made durable (the database, else the spool) and
 * nothing is refused: what .../health answers 200 for. */
int tr_health_can_store(const struct tr_health *h);

#endif
