/*
 * rates.h: the National Bank of Kazakhstan's official exchange rates.
 *
 * GET {RATES_API_BASE}/get_rates.cfm?fdate=DD.MM.YYYY answers XML:
 * <rates><date>DD.MM.YYYY</date><item><title>USD</title>
 * <description>474.2</description><quant>1</quant>...</item>...</rates>,
 * tenge per quant units of each currency.  No rates are set for weekends
 * and holidays: such a day's answer holds no items (or another day's),
 * and the caller takes the latest earlier rate.  Parsed with libxml2.
 */
#ifndef TR_RATES_H
#define TR_RATES_H

#include <stddef.h>

#include "base/err.h"
#include "base/http.h"

#define TR_RATES_MAX 64

struct tr_rate {
    char currency[8]; /* "USD" */
    char rate[32];    /* tenge per quant, a decimal: "474.2" */
    long quant;       /* 1, or 100 for JPY */
};

struct tr_rates {
    char date[11]; /* the day the answer is for, YYYY-MM-DD; "" when none */
    struct tr_rate v[TR_RATES_MAX];
    size_t n;
};

/*
 * Parses an answer of n bytes into out.  TR_EINVAL for what is not the
 * NBK's XML (its reason in msg); an answer without items is TR_OK with
 * out->n 0.
 */
enum tr_err tr_rates_parse(const char *xml, size_t n, struct tr_rates *out,
                           char *msg, size_t msgsz);

/* Asks base for day's rates (YYYY-MM-DD) and parses them.  TR_ENET,
 * TR_EINVAL. */
enum tr_err tr_rates_fetch(struct tr_http *http, const char *base,
                           const char *day, long timeout_ms,
                           struct tr_rates *out, char *msg, size_t msgsz);

#endif
