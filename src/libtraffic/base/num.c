/*
 * num.c: numbers from text, strictly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/num.h"

int
tr_parse_id(const char *s, int64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (s == NULL || s[0] == '\0' || strlen(s) > 19)
        return -1;
    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v == 0 || v > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

const char *
tr_parse_price(const char *s, char *out)
{
    size_t ilen = 0, flen = 0, i;
    const char *p, *frac = NULL;

    out[0] = '\0';
    if (s == NULL)
        return NULL;
    while (*s == ' ')
        s++;
    if (*s == '\0')
        return NULL;
    for (p = s; *p >= '0' && *p <= '9'; p++)
        ilen++;
    if (*p == '.') {
        frac = ++p;
        for (; *p >= '0' && *p <= '9'; p++)
            flen++;
    }
    while (*p == ' ')
        p++;
    if (*p != '\0' || ilen == 0 || (frac != NULL && flen == 0))
        return "price is not a decimal number";
    while (ilen > 1 && *s == '0') {
        s++;
        ilen--;
    }
    while (flen > 0 && frac[flen - 1] == '0')
        flen--;
    if (ilen > 13 || flen > 2)
        return "price out of range";
    memcpy(out, s, ilen);
    i = ilen;
    if (flen > 0) {
        out[i++] = '.';
        memcpy(out + i, frac, flen);
        i += flen;
    }
    out[i] = '\0';
    return NULL;
}

int64_t
tr_lead_time(int64_t raw)
{
    if (raw <= 0)
        return 0;
    while (raw >= INT64_C(100000000000))
        raw /= 1000;
    return raw;
}

int
tr_lead_time_ahead(int64_t t, int64_t now)
{
    return t > now + TR_LEAD_SKEW_S;
}

void
tr_day_add(const char *day, int delta, char *out, size_t outsz)
{
    struct tm tm;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = (int)strtol(day, NULL, 10) - 1900;
    tm.tm_mon = (int)strtol(day + 5, NULL, 10) - 1;
    tm.tm_mday = (int)strtol(day + 8, NULL, 10) + delta;
    tm.tm_hour = 12;
    t = timegm(&tm);
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%Y-%m-%d", &tm);
}
