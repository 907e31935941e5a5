/*
 * pipeline.h: one webhook body into one stored delivery.
 *
 *     parse (body.h) -> account check -> extract (leads.h)
 *         -> classify (classify.h) -> save (sale.h)
 *
 * The same for a live request (router.h), a spooled one (drain.h) and a
 * file the operator replays (traffic-ctl replay).  A body that cannot be
 * used still gets its webhook_logs row, with the reason.
 */
#ifndef TR_PIPELINE_H
#define TR_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "intake/body.h"
#include "intake/classify.h"
#include "base/err.h"
#include "intake/sale.h"

struct tr_config;
struct tr_rules;
struct tr_store;

#define TR_LOG_BODY_MAX (16 * 1024) /* bytes of raw body per log row */

/* A body to process, and where and when it came. */
struct tr_input {
    enum tr_endpoint endpoint;
    enum tr_body_type type;
    const char *body; /* NULL: none (a request refused early) */
    size_t len;
    const char *request_id;  /* X-AmoCRM-RequestId, or NULL */
    const char *received_at; /* timestamptz text of the arrival */
};

/* What a delivery did to its leads. */
struct tr_results {
    size_t total, processed, duplicates, skipped, ignored, errors;
    char summary[256]; /* "25123456:success 25123459:skipped" */
    int64_t new_leads[TR_NEW_SALES_MAX]; /* the first new sales */
    size_t nnew;
    size_t changed; /* of the processed: stored sales that changed */
};

struct tr_pipeline {
    const struct tr_config *cfg;
    const struct tr_rules *rules;
    struct tr_sale sale;
    struct tr_body_limits limits;
};

/* Fills p; it keeps (does not own) cfg, rules and store. */
void tr_pipeline_init(struct tr_pipeline *p, const struct tr_config *cfg,
                      const struct tr_rules *rules, struct tr_store *store);

/*
 * Parses, checks, classifies and stores in, counting outcomes in res.
 * With dry_run nothing is written.  TR_EINVAL / TR_ETOOBIG
 * for a bad body and TR_EDENIED for another account's (its error row is
 * logged); TR_EDB / TR_EDBDOWN when nothing could be stored; TR_EREFUSED
 * when the database refuses its data for good (its error row logged).
 */
enum tr_err tr_pipeline_process(struct tr_pipeline *p,
                                const struct tr_input *in, int dry_run,
                                struct tr_results *res, char *msg,
                                size_t msgsz);

/*
 * Writes the error rows of a delivery refused before or while parsing:
 * event ("request", "body", "unauthenticated", "foreign_account") and the
 * reason; one row per lead that in's body names, as far as it parses (so
 * that the operator's "logs --lead" finds a refused sale), else one row
 * without a lead.  in's body, when there is one, is kept in the rows
 * (sanitised, bounded), but for "unauthenticated": a body that did not
 * prove itself AmoCRM's.  Nothing else of the body is acted on.
 */
void tr_pipeline_log_error(struct tr_pipeline *p, const struct tr_input *in,
                           const char *event, const char *error);

#endif
