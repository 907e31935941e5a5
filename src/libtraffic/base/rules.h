/*
 * rules.h: the targetologist matcher.
 *
 * A rules file lists targetologists in match order, one per line:
 *
 *     # name     | emoji | patterns, comma separated
 *     Kenesary   | 👑    | tripwire, nutcab, kenesary, kenji
 *     Unknown    | ❓    |
 *
 * Blank lines and lines starting with "#" are comments.  A pattern matches
 * when it is a substring of utm_campaign or utm_source after Unicode case
 * folding (NFC), so "запуск" matches "ЗАПУСК_декабрь".  The first rule with a
 * matching pattern wins, in file order.  One rule without patterns, the last,
 * is the fallback; without one the fallback is "Unknown ❓".
 */
#ifndef TR_RULES_H
#define TR_RULES_H

#include <stddef.h>

#include "base/err.h"

#define TR_RULES_MAX 256
#define TR_RULE_PATTERNS_MAX 64
#define TR_RULE_NAME_MAX 64
#define TR_RULES_FILE_MAX (256 * 1024)

struct tr_rule {
    char *name;
    char *emoji;
    char **patterns; /* case-folded, NUL-terminated */
    size_t *pattern_len;
    size_t npatterns;
};

struct tr_rules {
    struct tr_rule *v; /* rules with patterns, in order */
    size_t n;
    struct tr_rule fallback; /* no patterns */
};

/* The built-in rules: the seed's table. */
extern const char tr_rules_default_text[];

/* Fills rules with the built-in defaults. */
enum tr_err tr_rules_init_default(struct tr_rules *rules, char *msg,
                                  size_t msgsz);

/*
 * Parses rules text; origin names it in messages ("rules.conf:3: ...").  On
 * error rules is left empty.
 */
enum tr_err tr_rules_parse(struct tr_rules *rules, const char *text, size_t len,
                           const char *origin, char *msg, size_t msgsz);

/* Reads and parses a rules file. */
enum tr_err tr_rules_load(struct tr_rules *rules, const char *path, char *msg,
                          size_t msgsz);

/* The configured rules: the file at path (TARGETOLOGISTS_FILE), or the
 * built-in defaults when path is NULL.  The one way every program gets
 * its rules. */
enum tr_err tr_rules_configured(struct tr_rules *rules, const char *path,
                                char *msg, size_t msgsz);

/* Frees what rules owns. */
void tr_rules_release(struct tr_rules *rules);

/* The index of rule among rules' names (tr_rules_names): its place, the
 * fallback last.  Pure. */
size_t tr_rules_index(const struct tr_rules *rules, const struct tr_rule *rule);

/* The targetologists' names into names[max], the fallback last; their
 * number.  The strings stay rules'. */
size_t tr_rules_names(const struct tr_rules *rules, const char **names,
                      size_t max);

/*
 * The rule for a sale with these UTM values (either may be NULL); the
 * fallback when nothing matches.  Never NULL.
 */
const struct tr_rule *tr_rules_match(const struct tr_rules *rules,
                                     const char *campaign, const char *source);

/* The rule named name (case-insensitive), the fallback included; NULL
 * when there is none. */
const struct tr_rule *tr_rules_find(const struct tr_rules *rules,
                                    const char *name);

#endif
