/*
 * text.c: UTF-8 sanitising for log rows, time formats.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "base/buf.h"
#include "base/num.h"
#include "base/text.h"

enum tr_err
tr_text_sanitize(struct tr_buf *dst, const char *s, size_t n, size_t max)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + n;
    enum tr_err err = TR_OK;
    ucs4_t uc;
    int len;

    /* the usual body: valid UTF-8 without NUL, within bounds, in one go */
    if (dst->len + n <= max && memchr(s, '\0', n) == NULL &&
        u8_check(p, n) == NULL)
        return tr_buf_add(dst, s, n);
    while (p < end && err == TR_OK) {
        len = u8_mbtoucr(&uc, p, (size_t)(end - p));
        if (dst->len + (len > 0 ? (size_t)len : 3) > max)
            return tr_buf_addf(dst, "...[truncated, %zu bytes in all]", n);
        if (len <= 0 || uc == 0) {
            err = tr_buf_adds(dst, "\xEF\xBF\xBD");
            p++;
        } else {
            err = tr_buf_add(dst, p, (size_t)len);
            p += len;
        }
    }
    return err;
}

long
tr_ms_since(const struct timespec *t, const struct timespec *now)
{
    return (long)(now->tv_sec - t->tv_sec) * 1000 +
           (now->tv_nsec - t->tv_nsec) / 1000000;
}

void
tr_clock_add(struct timespec *t, long ms)
{
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

long
tr_ms_until(const struct timespec *t)
{
    struct timespec now;
    long ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = tr_ms_since(&now, t);
    return ms > 0 ? ms : 0;
}

void
tr_text_timestamp(char *buf, size_t bufsz, long long sec, long nsec)
{
    struct tm tm;
    time_t t = (time_t)sec;
    char date[32];

    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, bufsz, "%s.%06ld+00", date, nsec / 1000);
}

void
tr_text_iso_now(char *buf, size_t bufsz)
{
    struct timespec ts;
    struct tm tm;
    char date[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, bufsz, "%.20s.%03dZ", date, (int)(ts.tv_nsec / 1000000));
}

long long
tr_text_parse_age(const char *s)
{
    char num[24];
    size_t n = strlen(s);
    long long mult = 1;
    int64_t v;

    if (n == 0 || n >= sizeof(num))
        return -1;
    switch (s[n - 1]) {
    case 'd':
        mult = 86400;
        break;
    case 'h':
        mult = 3600;
        break;
    case 'm':
        mult = 60;
        break;
    case 's':
        break;
    default:
        n++; /* no unit: seconds */
    }
    memcpy(num, s, n - 1);
    num[n - 1] = '\0';
    if (tr_parse_id(num, &v) != 0 || v > 100LL * 365 * 86400 / mult)
        return -1;
    return v * mult;
}

long
tr_text_base64_decode(const char *s, char *out, size_t outsz)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned long acc = 0;
    size_t o = 0, n = 0;
    int bits = 0, pad = 0;
    const char *p;

    for (; *s != '\0'; s++) {
        if (*s == '=') {
            pad++;
            continue;
        }
        if (pad > 0 || (p = strchr(alphabet, *s)) == NULL || *s == '\0')
            return -1;
        acc = (acc << 6) | (unsigned long)(p - alphabet);
        n++;
        if ((bits += 6) >= 8) {
            bits -= 8;
            if (o + 1 >= outsz)
                return -1;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (pad > 2 || n % 4 == 1) /* padding may be left out, not a sextet */
        return -1;
    out[o] = '\0';
    return (long)o;
}

uint64_t
tr_text_hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    const unsigned char *p;

    for (p = (const unsigned char *)s; *p != '\0'; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    return h;
}

char *
tr_casefold(const char *s, size_t n, size_t *outlen)
{
    uint8_t *r;
    char *out;
    size_t len = 0;

    if (u8_check((const uint8_t *)s, n) != NULL)
        return NULL;
    r = u8_casefold((const uint8_t *)s, n, NULL, UNINORM_NFC, NULL, &len);
    if (r == NULL)
        return NULL;
    if ((out = realloc(r, len + 1)) == NULL) {
        free(r);
        return NULL;
    }
    out[len] = '\0';
    if (outlen != NULL)
        *outlen = len;
    return out;
}

static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long
tr_text_url_decode(const char *s, size_t n, char *out, const char **why)
{
    size_t i, o = 0;
    int hi, lo;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '+') {
            out[o++] = ' ';
        } else if (c == '%') {
            if (i + 2 >= n) {
                *why = "truncated percent-escape";
                return -1;
            }
            hi = hexval((unsigned char)s[i + 1]);
            lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) {
                *why = "malformed percent-escape";
                return -1;
            }
            c = (unsigned char)(hi << 4 | lo);
            if (c == '\0') {
                *why = "NUL byte";
                return -1;
            }
            out[o++] = (char)c;
            i += 2;
        } else if (c == '\0') {
            *why = "NUL byte";
            return -1;
        } else {
            out[o++] = (char)c;
        }
    }
    return (long)o;
}
