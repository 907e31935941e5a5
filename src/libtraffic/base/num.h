/*
 * num.h: numbers from text, strictly: lead and chat ids, prices; AmoCRM's
 * times brought to seconds.  A basic room: it includes nothing of the
 * library.
 */
#ifndef TR_NUM_H
#define TR_NUM_H

#include <stddef.h>
#include <stdint.h>

#define TR_PRICE_MAX 32 /* bytes of a normalised price */

/*
 * Parses s as a positive decimal 64-bit integer with nothing around it.
 * Returns 0 and sets *out, or -1.
 */
int tr_parse_id(const char *s, int64_t *out);

/*
 * Normalises a wire price into out (TR_PRICE_MAX bytes): "" for NULL or
 * empty input; at most 13 integer and 2 fraction digits, no sign.  Returns
 * NULL, or a static reason when the value is not a usable amount.
 */
const char *tr_parse_price(const char *s, char *out);

#define TR_LEAD_SKEW_S 300 /* a lead time this far ahead is still trusted */

/*
 * A lead's modification time in unix seconds, given raw from the wire:
 * milliseconds and microseconds (values of 10^11 and more, past the year
 * 5000) are brought to seconds.  0 stays 0.  Pure.
 */
int64_t tr_lead_time(int64_t raw);

/*
 * Whether lead time t is further ahead of now than TR_LEAD_SKEW_S: not to
 * be trusted, since one such event would make every later real one stale.
 * Pure.
 */
int tr_lead_time_ahead(int64_t t, int64_t now);

/* day (YYYY-MM-DD) moved by delta days into out (11 bytes or more), in
 * the calendar, whatever the time zone.  Pure. */
void tr_day_add(const char *day, int delta, char *out, size_t outsz);

#endif
