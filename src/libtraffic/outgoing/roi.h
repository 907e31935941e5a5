/*
 * roi.h: return on ad spend per targetologist for a period of the team's
 * days: sales and revenue as the dashboard counts them, spend in tenge at
 * the official rates (statements/roi.sql), ROI % = (revenue - spend) /
 * spend * 100, ROAS = revenue / spend, CPA = spend / sales, each undefined
 * ("") where its divisor is 0.  Rows in the rules' order, then names the
 * rules no longer have, then Unknown, then the total.
 */
#ifndef TR_ROI_H
#define TR_ROI_H

#include <stddef.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"
#include "base/rules.h"

struct tr_store;

struct tr_roi_row {
    char who[TR_RULE_NAME_MAX]; /* "" for the total */
    long sales;
    char revenue[32]; /* tenge, "0" when none */
    char spend[32];   /* tenge, "0" when none */
    char roi[32];     /* percent; "" undefined */
    char roas[32];    /* "" undefined */
    char cpa[32];     /* tenge; "" undefined */
    int no_rate;      /* some spend had no rate: left out, and said */
};

struct tr_roi {
    struct tr_roi_row *v;
    size_t n;
    struct tr_buf rates;    /* "USD 474.2 per 1 (nbk 04.12.2026)"; len 0:
                               none */
    struct tr_buf rates_ru; /* the same for the team: "USD 474.2 ₸ (НБ РК,
                             * 04.12.2026)" */
};

/* Computes the period from..to (YYYY-MM-DD) into out (free with
 * tr_roi_release).  TR_EDB, TR_ENOMEM. */
enum tr_err tr_roi_compute(struct tr_store *store, const struct tr_config *cfg,
                           const struct tr_rules *rules, const char *from,
                           const char *to, struct tr_roi *out, char *msg,
                           size_t msgsz);

void tr_roi_release(struct tr_roi *roi);

/*
 * Appends roi to b: with csv, the header
 * "targetologist,sales,revenue_kzt,spend_kzt,roi_pct,roas,cpa_kzt", a line
 * per row, empty fields where undefined, the total "TOTAL"; else a table
 * with "-" where undefined and the rows below target_pct marked.
 */
enum tr_err tr_roi_format(const struct tr_roi *roi, int csv, long target_pct,
                          struct tr_buf *b);

/* The team's days (each YYYY-MM-DD, 11 bytes): LOOKBACK days ago, today,
 * the month's first and the week's (Monday). */
struct tr_roi_days {
    char since[11], today[11], month[11], week[11];
};

enum tr_err tr_roi_days(struct tr_store *store, const struct tr_config *cfg,
                        struct tr_roi_days *d, char *msg, size_t msgsz);

#endif
