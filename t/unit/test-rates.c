/*
 * test-rates: the NBK's XML rates (outgoing/rates.h) through libxml2: a
 * day's answer, the yen per 100, a weekend without items, what is not
 * the NBK's XML, and an external entity that must not be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtraffic/outgoing/rates.h"
#include "tap.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
#define ENTITY_FILE "/tmp/traffic-test-rates-entity.txt"

static void
parse(const char *xml, struct tr_rates *r, enum tr_err want, const char *what)
{
    char msg[256] = "";
    enum tr_err err = tr_rates_parse(xml, strlen(xml), r, msg, sizeof(msg));

    ok(err == want, "%s: %s", what, err == TR_OK ? "parsed" : msg);
}

/* An answer over 4 MiB (whitespace after a good document) is refused. */
static void
big(struct tr_rates *r)
{
    static const char doc[] = HEAD "<rates><date>04.12.2026</date></rates>";
    size_t n = 4 * 1024 * 1024 + 1;
    char *xml = malloc(n), msg[256] = "";

    if (xml == NULL)
        return;
    memset(xml, ' ', n);
    memcpy(xml, doc, sizeof(doc) - 1);
    ok(tr_rates_parse(xml, n, r, msg, sizeof(msg)) == TR_EINVAL,
       "an answer over 4 MiB: %s", msg);
    ok(tr_rates_parse(xml, n - 1, r, msg, sizeof(msg)) == TR_OK,
       "4 MiB exactly: parsed");
    free(xml);
}

int
main(void)
{
    struct tr_rates r;
    FILE *f;

    parse(HEAD "<rates><generator>NBK</generator><title>Official exchange "
               "rates</title><date>04.12.2026</date>"
               "<item><fullname>ДОЛЛАР США</fullname><title>USD</title>"
               "<description> 474.2 </description><quant>1</quant>"
               "<index>UP</index><change>+0.51</change></item>"
               "<item><fullname>ЯПОНСКАЯ ИЕНА</fullname><title>JPY</title>"
               "<description>305.67</description><quant>100</quant></item>"
               "<item><title>bad</title><description>1</description></item>"
               "<item><title>EUR</title><description>zero</description>"
               "</item></rates>",
          &r, TR_OK, "a day's rates");
    is_str(r.date, "2026-12-04", "its day, as YYYY-MM-DD");
    ok(r.n == 2,
       "two usable items (a bad title, a rate not a number left "
       "out): %zu",
       r.n);
    is_str(r.v[0].currency, "USD", "USD");
    is_str(r.v[0].rate, "474.2", "its rate, trimmed");
    ok(r.v[0].quant == 1, "per 1");
    is_str(r.v[1].currency, "JPY", "JPY");
    ok(r.v[1].quant == 100, "per 100, as the NBK quotes it");

    parse(HEAD "<rates><date>06.12.2026</date></rates>", &r, TR_OK,
          "a weekend");
    ok(r.n == 0 && strcmp(r.date, "2026-12-06") == 0, "no items, its day");

    parse("not xml at all", &r, TR_EINVAL, "not XML");
    parse(HEAD "<html><body>error</body></html>", &r, TR_EINVAL,
          "another document");
    parse(HEAD "<rates><date>2026-12-04</date></rates>", &r, TR_EINVAL,
          "a date not DD.MM.YYYY");
    parse(HEAD "<rates><date>04.12.2026Z</date></rates>", &r, TR_EINVAL,
          "a date with more after it");
    parse(HEAD "<rates><date>04.12-2026</date></rates>", &r, TR_EINVAL,
          "a date with a dash");
    parse(HEAD "<rates><date>04.1a.2026</date></rates>", &r, TR_EINVAL,
          "a date with a letter");
    parse(HEAD "<rates><date>04.12.2026</date>"
               "<item><title>IDR</title><description>3.1</description>"
               "<quant>1000000</quant></item>"
               "<item><title>VND</title><description>2.2</description>"
               "<quant>1000001</quant></item></rates>",
          &r, TR_OK, "quants of a million and one more");
    ok(r.n == 1 && strcmp(r.v[0].currency, "IDR") == 0 &&
           r.v[0].quant == 1000000,
       "per a million taken, more left out: %zu", r.n);
    big(&r);
    /* an entity naming a local file that holds a rate: expanded, it would
     * give one */
    f = fopen(ENTITY_FILE, "w");
    ok(f != NULL && fputs("999.9", f) >= 0 && fclose(f) == 0,
       "a file with a rate in it");
    parse(HEAD "<!DOCTYPE rates [<!ENTITY x SYSTEM \"file://" ENTITY_FILE
               "\">]><rates><date>04.12.2026</date><item><title>USD</title>"
               "<description>&x;</description><quant>1</quant></item>"
               "</rates>",
          &r, TR_OK, "an external entity");
    ok(r.n == 0, "is never read: no rate from it");
    remove(ENTITY_FILE);
    return done_testing();
}
