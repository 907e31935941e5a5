/*
 * test-rules: the targetologist matcher: the seed's table with Unicode case
 * folding, file order, the shipped rules file, and rules-file errors with
 * their line numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtraffic/base/rules.h"
#include "tap.h"

static const struct {
    const char *campaign, *source, *want;
} table[] = {
    {"tripwire_dec20", "kenesary_test", "Kenesary"},
    {NULL, "KENJI", "Kenesary"},
    {"NutCab", NULL, "Kenesary"},
    {"arystan_promo", NULL, "Arystan"},
    {"ЗАПУСК_декабрь", NULL, "Muha"},
    {"ЗАПУСК_Декабрь & <b>", NULL, "Muha"},
    {"On AI launch", NULL, "Muha"},
    {"ONAI", NULL, "Muha"},
    {"YourMarketolog", NULL, "Muha"},
    {"PB_Agency", NULL, "Traf4"},
    {"proftest", NULL, "Traf4"},
    {"alex_tripwire", NULL, "Kenesary"}, /* Kenesary is first in file */
    {"nothing", "muha_fb", "Muha"},      /* utm_source counts too */
    {"random", "google", "Unknown"},
    {NULL, NULL, "Unknown"},
    {"", "", "Unknown"},
    {"\xff\xfe", "kenji", "Kenesary"}, /* bad UTF-8 in one field */
};

static const struct {
    const char *text, *err;
} bad[] = {
    {"A | x\n", "t.conf:1: expected"},
    {"# c\nA | x | a,,b\n", "t.conf:2: empty pattern"},
    {"A | x |\nB | y | b\n", "t.conf:2: rule after the fallback"},
    {" | x | a\n", "t.conf:1: name"},
    {"A |  | a\n", "t.conf:1: emoji"},
    {"A | x | a | b\n", "t.conf:1: too many"},
    {"A | x | \xc0\xaf\n", "t.conf:1: pattern is not valid UTF-8"},
    {"# only comments\n\n", "no rule with patterns"},
};

int
main(void)
{
    struct tr_rules rules;
    const struct tr_rule *r;
    char msg[256], path[1024];
    const char *src = getenv("TRAFFIC_SRCDIR");
    size_t i;

    ok(tr_rules_init_default(&rules, msg, sizeof(msg)) == TR_OK,
       "built-in rules parse");
    ok(rules.n == 4 && strcmp(rules.fallback.name, "Unknown") == 0 &&
           strcmp(rules.fallback.emoji, "\xE2\x9D\x93") == 0,
       "four targetologists and Unknown ❓");
    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        r = tr_rules_match(&rules, table[i].campaign, table[i].source);
        is_str(r->name, table[i].want, "campaign \"%s\", source \"%s\"",
               table[i].campaign ? table[i].campaign : "(null)",
               table[i].source ? table[i].source : "(null)");
    }
    r = tr_rules_match(&rules, "kenji", NULL);
    is_str(r->emoji, "\xF0\x9F\x91\x91", "Kenesary's emoji is 👑");
    /* the rules in their order, each on the campaign and on the source:
     * the first rule that matches either wins, whichever field it is */
    r = tr_rules_match(&rules, "arystan_jan", "kenesary_ig");
    is_str(r->name, "Kenesary", "rule order before field order");
    tr_rules_release(&rules);

    /* NFC: a decomposed Й (И + combining breve) matches the composed one */
    ok(tr_rules_parse(&rules, "Yoga | Y | йога\n", strlen("Yoga | Y | йога\n"),
                      "t.conf", msg, sizeof(msg)) == TR_OK,
       "custom rules parse");
    r = tr_rules_match(&rules, "\xD0\x98\xCC\x86\xD0\x9E\xD0\x93\xD0\x90_x",
                       NULL);
    is_str(r->name, "Yoga", "decomposed ЙОГА matches йога");
    tr_rules_release(&rules);
    /* folding, not lower case: ß is ss */
    ok(tr_rules_parse(&rules, "Street | S | strasse\n",
                      strlen("Street | S | strasse\n"), "t.conf", msg,
                      sizeof(msg)) == TR_OK,
       "a rule of ss parses");
    r = tr_rules_match(&rules,
                       "STRA\xC3\x9F"
                       "E_2026",
                       NULL);
    is_str(r->name, "Street", "STRAßE matches strasse");
    tr_rules_release(&rules);
    ok(tr_rules_parse(&rules,
                      "Street | S | stra\xC3\x9F"
                      "e\n",
                      strlen("Street | S | stra\xC3\x9F"
                             "e\n"),
                      "t.conf", msg, sizeof(msg)) == TR_OK,
       "a rule of ß parses");
    r = tr_rules_match(&rules, "STRASSE_2026", NULL);
    is_str(r->name, "Street", "STRASSE matches straße (the pattern folded)");
    is_str(rules.fallback.name, "Unknown", "fallback defaults to Unknown");
    tr_rules_release(&rules);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msg[0] = '\0';
        ok(tr_rules_parse(&rules, bad[i].text, strlen(bad[i].text), "t.conf",
                          msg, sizeof(msg)) == TR_ECONFIG &&
               strstr(msg, bad[i].err) != NULL,
           "bad rules: %s", msg);
    }

    snprintf(path, sizeof(path), "%s/contrib/targetologists.conf",
             src ? src : ".");
    ok(tr_rules_load(&rules, path, msg, sizeof(msg)) == TR_OK,
       "the shipped rules file loads: %s", msg);
    ok(rules.n == 4 && strcmp(rules.v[2].name, "Muha") == 0 &&
           rules.v[2].npatterns == 5,
       "and holds the seed's table");
    r = tr_rules_match(&rules, "запуск", NULL);
    is_str(r->name, "Muha", "the shipped file matches like the defaults");
    tr_rules_release(&rules);
    ok(tr_rules_load(&rules, "/nonexistent/rules.conf", msg, sizeof(msg)) ==
               TR_ECONFIG &&
           strstr(msg, "/nonexistent/rules.conf"),
       "a missing file names itself: %s", msg);
    return done_testing();
}
