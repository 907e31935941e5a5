/*
 * text.h: small text helpers with no home of their own: the bounded, valid
 * UTF-8 copy of a body that a log row keeps, and the time formats the
 * service writes.
 */
#ifndef TR_TEXT_H
#define TR_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

struct tr_buf;

/*
 * Appends at most max bytes of the n bytes of s to dst as valid UTF-8 text
 * without NUL bytes (each bad byte becomes U+FFFD), ending a cut copy with
 * "...[truncated, N bytes in all]".  TR_ENOMEM, TR_ETOOBIG as tr_buf_add.
 */
enum tr_err tr_text_sanitize(struct tr_buf *dst, const char *s, size_t n,
                             size_t max);

/*
 * Writes a CLOCK_REALTIME time as the timestamptz text the database takes:
 * "2026-11-25 10:00:00.123456+00".
 */
void tr_text_timestamp(char *buf, size_t bufsz, long long sec, long nsec);

/* Milliseconds from t to now (two times of one clock). */
long tr_ms_since(const struct timespec *t, const struct timespec *now);

/* Moves t ms milliseconds later. */
void tr_clock_add(struct timespec *t, long ms);

/* Milliseconds from now until monotonic time t (0 when past). */
long tr_ms_until(const struct timespec *t);

/* Writes the time now as ISO 8601 in UTC: "2026-11-25T10:00:00.123Z". */
void tr_text_iso_now(char *buf, size_t bufsz);

/*
 * An age as "30d", "12h", "90m", "3600s" or "3600" (seconds), at most 100
 * years: the seconds, or -1 when malformed.
 */
long long tr_text_parse_age(const char *s);

/*
 * Decodes base64 s into out (NUL-terminated, at most outsz - 1 bytes): the
 * length, or -1 when s is not base64 (its padding may be left out) or does
 * not fit.
 */
long tr_text_base64_decode(const char *s, char *out, size_t outsz);

/* A 64-bit hash of s (FNV-1a): a stable name for a text.  Pure. */
uint64_t tr_text_hash(const char *s);

/*
 * Case-folds (NFC) n bytes of UTF-8 into a new NUL-terminated string (free()
 * it); *outlen gets its length.  NULL on invalid UTF-8 or without memory.
 */
char *tr_casefold(const char *s, size_t n, size_t *outlen);

/*
 * Decodes one urlencoded component of n bytes into out (room for n bytes):
 * "+" is a space, "%XX" a byte.  Returns the decoded length, or -1 with a
 * reason (static) for a truncated or non-hex escape and for a NUL byte.
 */
long tr_text_url_decode(const char *s, size_t n, char *out, const char **why);

#endif
