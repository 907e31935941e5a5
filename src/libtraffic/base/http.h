/*
 * http.h: the one HTTP client of libtraffic (libcurl), shared by the
 * Telegram and AmoCRM API clients.
 *
 * One easy handle per process, reused so connections are kept alive between
 * requests.  Every request has a total timeout, the answer is bounded in
 * size, and no message this module writes contains the request URL: curl's
 * own error text is passed through tr_http_scrub with the caller's secret, so
 * a token that is part of the URL (Telegram's /bot<TOKEN>/) never reaches a
 * log line.
 */
#ifndef TR_HTTP_H
#define TR_HTTP_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#define TR_HTTP_ANSWER_MAX (1024 * 1024)

struct tr_http {
    void *curl;           /* CURL *, created on first use */
    struct tr_buf answer; /* the last answer's body */
    long status;          /* the last answer's HTTP status, 0: none */
    double seconds;       /* how long the last request took */
    long retry_after;     /* the last answer's Retry-After, seconds; 0 */
};

/* Fills h; nothing is allocated until the first request. */
void tr_http_init(struct tr_http *h);

/* Closes the connections and frees what h owns. */
void tr_http_release(struct tr_http *h);

/*
 * Sends one request: POST with body (Content-Type from the headers) when
 * body is not NULL, GET otherwise.  headers is a NULL-terminated list of
 * "Name: value" lines, or NULL.  Waits at most timeout_ms in all.  TR_OK when
 * an HTTP answer arrived (whatever its status: h->status, h->answer);
 * TR_ENET when none did (connect, TLS, timeout, answer over the limit), with
 * curl's reason in msg, secret (when not NULL) replaced by "***".
 */
enum tr_err tr_http_request(struct tr_http *h, const char *url,
                            const char *const *headers, const char *body,
                            long timeout_ms, const char *secret, char *msg,
                            size_t msgsz);

/* The last answer's header name (case-insensitive) into buf: 1, or 0 when
 * it had none (buf is then ""). */
int tr_http_header(struct tr_http *h, const char *name, char *buf,
                   size_t bufsz);

/* Replaces every occurrence of secret in msg by "***", in place. */
void tr_http_scrub(char *msg, const char *secret);

#endif
