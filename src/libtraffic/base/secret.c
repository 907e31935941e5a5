/*
 * secret.c: comparing and hiding secrets.
 */
#include <stdio.h>
#include <string.h>

#include "base/secret.h"

int
tr_secret_equal(const char *given, const char *secret)
{
    size_t n = strlen(secret), g = strlen(given), i;
    unsigned char d = g != n;

    /* every byte of the secret is looked at, whatever matched before */
    for (i = 0; i < n; i++)
        d |= (unsigned char)((i < g ? given[i] : 0) ^ secret[i]);
    return d == 0;
}

/* Appends n bytes of s to buf (size bufsz) at *o, always NUL-terminated. */
static void
put(char *buf, size_t bufsz, size_t *o, const char *s, size_t n)
{
    while (n-- > 0 && *o + 1 < bufsz)
        buf[(*o)++] = *s++;
    buf[*o] = '\0';
}

void
tr_secret_mask_url(const char *url, char *buf, size_t bufsz)
{
    const char *p, *auth_end, *at = NULL, *colon;
    size_t o = 0;
    int uri;

    if (bufsz == 0)
        return;
    buf[0] = '\0';
    if (url == NULL) {
        put(buf, bufsz, &o, "(not set)", 9);
        return;
    }
    p = url;
    uri = strstr(url, "://") != NULL;
    if (uri) {
        /* postgresql://user:password@host/db */
        p = strstr(url, "://") + 3;
        auth_end = p + strcspn(p, "/?");
        for (colon = p; colon < auth_end; colon++)
            if (*colon == '@')
                at = colon;
        colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
        if (colon != NULL) {
            put(buf, bufsz, &o, url, (size_t)(colon + 1 - url));
            put(buf, bufsz, &o, "***", 3);
            p = at;
        } else {
            put(buf, bufsz, &o, url, (size_t)(p - url));
        }
    }
    /* "password=..." in the query string or a conninfo string */
    while (*p != '\0') {
        int start = p == url || strchr(uri ? "?&" : " \t", p[-1]) != NULL;

        if (start && strncmp(p, "password", 8) == 0) {
            const char *v = p + 8;

            while (*v == ' ')
                v++;
            if (*v == '=') {
                v++;
                while (!uri && *v == ' ')
                    v++;
                put(buf, bufsz, &o, "password=***", 12);
                if (!uri && *v == '\'') {
                    for (v++; *v != '\0' && *v != '\''; v++)
                        if (*v == '\\' && v[1] != '\0')
                            v++;
                    if (*v == '\'')
                        v++;
                } else {
                    v += strcspn(v, uri ? "&" : " \t");
                }
                p = v;
                continue;
            }
        }
        put(buf, bufsz, &o, p, 1);
        p++;
    }
}
