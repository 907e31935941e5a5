/*
 * tap.h: the few TAP helpers the unit tests need (Test Anything Protocol,
 * read by prove).  Header-only; each test program includes it once.
 */
#ifndef TR_TAP_H
#define TR_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static void __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
    va_list ap;

    tap_n++;
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond)
        tap_failed++;
    fflush(stdout);
}

static void __attribute__((format(printf, 3, 4), unused))
is_str(const char *got, const char *want, const char *fmt, ...)
{
    int cond = (got == NULL && want == NULL) ||
               (got != NULL && want != NULL && strcmp(got, want) == 0);
    char name[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    ok(cond, "%s", name);
    if (!cond)
        printf("#   got:      \"%s\"\n#   expected: \"%s\"\n",
               got ? got : "(null)", want ? want : "(null)");
}

static void __attribute__((unused)) diag(const char *s)
{
    printf("# %s\n", s);
}

static int
done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
