/*
 * rules.c: parsing the rules file and matching UTM values against it.
 *
 * Case folding is libunistring's u8_casefold, never a hand-written table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "base/buf.h"
#include "base/rules.h"
#include "base/text.h"

const char tr_rules_default_text[] =
    "# name   | emoji | patterns (substring of utm_campaign or utm_source)\n"
    "Kenesary | \xF0\x9F\x91\x91 | tripwire, nutcab, kenesary, kenji\n"
    "Arystan  | \xF0\x9F\xA6\x81 | arystan\n"
    "Muha     | \xF0\x9F\x9A\x80 | on ai, onai, \xD0\xB7\xD0\xB0\xD0\xBF\xD1"
    "\x83\xD1\x81\xD0\xBA, yourmarketolog, muha\n"
    "Traf4    | \xE2\x9A\xA1 | alex, traf4, proftest, pb_agency\n"
    "Unknown  | \xE2\x9D\x93 |\n";

static void
rule_release(struct tr_rule *r)
{
    size_t i;

    for (i = 0; i < r->npatterns; i++)
        free(r->patterns[i]);
    free(r->patterns);
    free(r->pattern_len);
    free(r->name);
    free(r->emoji);
    memset(r, 0, sizeof(*r));
}

void
tr_rules_release(struct tr_rules *rules)
{
    size_t i;

    for (i = 0; i < rules->n; i++)
        rule_release(&rules->v[i]);
    free(rules->v);
    rule_release(&rules->fallback);
    rules->v = NULL;
    rules->n = 0;
}

/* Trims spaces and tabs off both ends of [*p, *p + *n). */
static void
trim(const char **p, size_t *n)
{
    while (*n > 0 && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' ||
                      (*p)[*n - 1] == '\r'))
        (*n)--;
}

static enum tr_err
parse_patterns(struct tr_rule *r, const char *p, size_t n, const char *origin,
               size_t lineno, char *msg, size_t msgsz)
{
    const char *end = p + n, *comma;
    size_t len;

    while (p < end) {
        const char *item = p;
        size_t itemlen;

        comma = memchr(p, ',', (size_t)(end - p));
        itemlen = (size_t)((comma ? comma : end) - p);
        p = comma ? comma + 1 : end;
        trim(&item, &itemlen);
        if (itemlen == 0)
            return tr_fail(msg, msgsz, TR_ECONFIG, "%s:%zu: empty pattern",
                           origin, lineno);
        if (r->npatterns == TR_RULE_PATTERNS_MAX)
            return tr_fail(msg, msgsz, TR_ECONFIG,
                           "%s:%zu: more than %d patterns", origin, lineno,
                           TR_RULE_PATTERNS_MAX);
        r->patterns[r->npatterns] = tr_casefold(item, itemlen, &len);
        if (r->patterns[r->npatterns] == NULL)
            return tr_fail(msg, msgsz, TR_ECONFIG,
                           "%s:%zu: pattern is not valid UTF-8", origin,
                           lineno);
        r->pattern_len[r->npatterns++] = len;
    }
    return TR_OK;
}

static enum tr_err
parse_line(struct tr_rules *rules, const char *line, size_t n,
           const char *origin, size_t lineno, char *msg, size_t msgsz)
{
    const char *f[3], *bar;
    size_t fn[3], i;
    struct tr_rule r = {0};
    enum tr_err err;

    for (i = 0; i < 3; i++) {
        bar = i < 2 ? memchr(line, '|', n) : NULL;
        if (i < 2 && bar == NULL)
            return tr_fail(msg, msgsz, TR_ECONFIG,
                           "%s:%zu: expected \"name | emoji | patterns\"",
                           origin, lineno);
        f[i] = line;
        fn[i] = bar ? (size_t)(bar - line) : n;
        if (bar) {
            n -= fn[i] + 1;
            line = bar + 1;
        }
        trim(&f[i], &fn[i]);
    }
    if (memchr(f[2], '|', fn[2]) != NULL)
        return tr_fail(msg, msgsz, TR_ECONFIG, "%s:%zu: too many \"|\" fields",
                       origin, lineno);
    if (fn[0] == 0 || fn[0] > TR_RULE_NAME_MAX ||
        u8_check((const uint8_t *)f[0], fn[0]) != NULL)
        return tr_fail(msg, msgsz, TR_ECONFIG,
                       "%s:%zu: name must be 1-%d bytes of UTF-8", origin,
                       lineno, TR_RULE_NAME_MAX);
    if (fn[1] == 0 || fn[1] > 32 ||
        u8_check((const uint8_t *)f[1], fn[1]) != NULL)
        return tr_fail(msg, msgsz, TR_ECONFIG,
                       "%s:%zu: emoji must be 1-32 bytes of UTF-8", origin,
                       lineno);
    if (rules->fallback.name != NULL)
        return tr_fail(msg, msgsz, TR_ECONFIG,
                       "%s:%zu: rule after the fallback (the rule without "
                       "patterns must be last)",
                       origin, lineno);
    if (rules->n == TR_RULES_MAX)
        return tr_fail(msg, msgsz, TR_ECONFIG, "%s:%zu: more than %d rules",
                       origin, lineno, TR_RULES_MAX);
    if ((r.name = strndup(f[0], fn[0])) == NULL ||
        (r.emoji = strndup(f[1], fn[1])) == NULL ||
        (r.patterns = calloc(TR_RULE_PATTERNS_MAX, sizeof(char *))) == NULL ||
        (r.pattern_len = calloc(TR_RULE_PATTERNS_MAX, sizeof(size_t))) ==
            NULL) {
        rule_release(&r);
        return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    }
    err = parse_patterns(&r, f[2], fn[2], origin, lineno, msg, msgsz);
    if (err != TR_OK) {
        rule_release(&r);
        return err;
    }
    if (r.npatterns == 0)
        rules->fallback = r;
    else
        rules->v[rules->n++] = r;
    return TR_OK;
}

enum tr_err
tr_rules_parse(struct tr_rules *rules, const char *text, size_t len,
               const char *origin, char *msg, size_t msgsz)
{
    const char *p = text, *end = text + len, *nl;
    size_t lineno = 0, n;
    enum tr_err err = TR_OK;

    memset(rules, 0, sizeof(*rules));
    if ((rules->v = calloc(TR_RULES_MAX, sizeof(*rules->v))) == NULL)
        return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    if (memchr(text, '\0', len) != NULL) {
        err = tr_fail(msg, msgsz, TR_ECONFIG, "%s: NUL byte in file", origin);
        goto out;
    }
    for (; p < end; p = nl ? nl + 1 : end) {
        const char *line = p;

        lineno++;
        nl = memchr(p, '\n', (size_t)(end - p));
        n = (size_t)((nl ? nl : end) - p);
        trim(&line, &n);
        if (n == 0 || line[0] == '#')
            continue;
        err = parse_line(rules, line, n, origin, lineno, msg, msgsz);
        if (err != TR_OK)
            goto out;
    }
    if (rules->n == 0) {
        err = tr_fail(msg, msgsz, TR_ECONFIG, "%s: no rule with patterns",
                      origin);
        goto out;
    }
    if (rules->fallback.name == NULL &&
        ((rules->fallback.name = strdup("Unknown")) == NULL ||
         (rules->fallback.emoji = strdup("\xE2\x9D\x93")) == NULL))
        err = tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
out:
    if (err != TR_OK)
        tr_rules_release(rules);
    return err;
}

enum tr_err
tr_rules_init_default(struct tr_rules *rules, char *msg, size_t msgsz)
{
    return tr_rules_parse(rules, tr_rules_default_text,
                          strlen(tr_rules_default_text), "built-in rules", msg,
                          msgsz);
}

enum tr_err
tr_rules_load(struct tr_rules *rules, const char *path, char *msg, size_t msgsz)
{
    struct tr_buf b;
    enum tr_err err;

    memset(rules, 0, sizeof(*rules));
    tr_buf_init(&b, TR_RULES_FILE_MAX);
    if (tr_buf_read_file(&b, path, msg, msgsz) != TR_OK)
        err = TR_ECONFIG;
    else
        err = tr_rules_parse(rules, b.data ? b.data : "", b.len, path, msg,
                             msgsz);
    tr_buf_release(&b);
    return err;
}

/* Whether any pattern of r is a substring of the folded s. */
static int
rule_hits(const struct tr_rule *r, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < r->npatterns; i++)
        if (memmem(s, n, r->patterns[i], r->pattern_len[i]) != NULL)
            return 1;
    return 0;
}

/* Folds s into buf when it fits, else into a new allocation. */
static char *
fold(const char *s, char *buf, size_t bufsz, size_t *len)
{
    uint8_t *r;

    if (s == NULL || s[0] == '\0')
        return NULL;
    if (u8_check((const uint8_t *)s, strlen(s)) != NULL)
        return NULL;
    *len = bufsz;
    r = u8_casefold((const uint8_t *)s, strlen(s), NULL, UNINORM_NFC,
                    (uint8_t *)buf, len);
    return (char *)r;
}

const struct tr_rule *
tr_rules_match(const struct tr_rules *rules, const char *campaign,
               const char *source)
{
    char b1[512], b2[512];
    char *c, *s;
    size_t cn = 0, sn = 0, i;
    const struct tr_rule *hit = &rules->fallback;

    c = fold(campaign, b1, sizeof(b1), &cn);
    s = fold(source, b2, sizeof(b2), &sn);
    for (i = 0; i < rules->n; i++) {
        if ((c != NULL && rule_hits(&rules->v[i], c, cn)) ||
            (s != NULL && rule_hits(&rules->v[i], s, sn))) {
            hit = &rules->v[i];
            break;
        }
    }
    if (c != NULL && c != b1)
        free(c);
    if (s != NULL && s != b2)
        free(s);
    return hit;
}

const struct tr_rule *
tr_rules_find(const struct tr_rules *rules, const char *name)
{
    size_t i;

    for (i = 0; i < rules->n; i++)
        if (strcasecmp(rules->v[i].name, name) == 0)
            return &rules->v[i];
    if (rules->fallback.name != NULL &&
        strcasecmp(rules->fallback.name, name) == 0)
        return &rules->fallback;
    return NULL;
}

size_t
tr_rules_index(const struct tr_rules *rules, const struct tr_rule *rule)
{
    return rule == &rules->fallback ? rules->n : (size_t)(rule - rules->v);
}

size_t
tr_rules_names(const struct tr_rules *rules, const char **names, size_t max)
{
    size_t n = 0;

    while (n < rules->n && n + 1 < max) {
        names[n] = rules->v[n].name;
        n++;
    }
    if (n < max)
        names[n++] = rules->fallback.name;
    return n;
}

enum tr_err
tr_rules_configured(struct tr_rules *rules, const char *path, char *msg,
                    size_t msgsz)
{
    return path != NULL ? tr_rules_load(rules, path, msg, msgsz)
                        : tr_rules_init_default(rules, msg, msgsz);
}
