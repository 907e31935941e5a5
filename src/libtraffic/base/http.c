/*
 * http.c: requests with libcurl, bounded in time and size.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "base/http.h"

void
tr_http_init(struct tr_http *h)
{
    memset(h, 0, sizeof(*h));
    tr_buf_init(&h->answer, TR_HTTP_ANSWER_MAX);
}

void
tr_http_release(struct tr_http *h)
{
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    tr_buf_release(&h->answer);
    memset(h, 0, sizeof(*h));
}

void
tr_http_scrub(char *msg, const char *secret)
{
    size_t n;
    char *p;

    if (secret == NULL || (n = strlen(secret)) == 0)
        return;
    while ((p = strstr(msg, secret)) != NULL) {
        memmove(p + 3, p + n, strlen(p + n) + 1);
        memcpy(p, "***", 3);
    }
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
    struct tr_http *h = arg;

    /* refusing the bytes makes curl stop with CURLE_WRITE_ERROR */
    if (tr_buf_add(&h->answer, p, size * n) != TR_OK)
        return 0;
    return size * n;
}

static enum tr_err
setup(struct tr_http *h, char *msg, size_t msgsz)
{
    static int global;

    if (h->curl != NULL) {
        curl_easy_reset(h->curl);
    } else {
        if (!global && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
            return tr_fail(msg, msgsz, TR_ENOMEM, "curl_global_init failed");
        global = 1;
        if ((h->curl = curl_easy_init()) == NULL)
            return tr_fail(msg, msgsz, TR_ENOMEM, "curl_easy_init failed");
    }
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "traffic-webhook");
    curl_easy_setopt(h->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    return TR_OK;
}

enum tr_err
tr_http_request(struct tr_http *h, const char *url, const char *const *headers,
                const char *body, long timeout_ms, const char *secret,
                char *msg, size_t msgsz)
{
    struct curl_slist *list = NULL, *l;
    char errbuf[CURL_ERROR_SIZE];
    enum tr_err err = TR_OK;
    curl_off_t ra = 0;
    CURLcode rc;

    h->status = 0;
    h->seconds = 0;
    h->retry_after = 0;
    tr_buf_reset(&h->answer);
    if ((err = setup(h, msg, msgsz)) != TR_OK)
        return err;
    for (; headers != NULL && *headers != NULL; headers++) {
        if ((l = curl_slist_append(list, *headers)) == NULL) {
            curl_slist_free_all(list);
            return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
        }
        list = l;
    }
    errbuf[0] = '\0';
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < 5000 ? timeout_ms : 5000L);
    if (body != NULL)
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    rc = curl_easy_perform(h->curl);
    curl_easy_getinfo(h->curl, CURLINFO_TOTAL_TIME, &h->seconds);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &h->status);
        if (curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
            ra > 0)
            h->retry_after = ra > 86400 ? 86400 : (long)ra;
    } else {
        if (rc == CURLE_WRITE_ERROR)
            snprintf(errbuf, sizeof(errbuf), "answer over %d bytes",
                     TR_HTTP_ANSWER_MAX);
        err = tr_fail(msg, msgsz, TR_ENET, "%s",
                      errbuf[0] ? errbuf : curl_easy_strerror(rc));
        if (msg != NULL && msgsz > 0)
            tr_http_scrub(msg, secret);
    }
    /* the handle must not keep pointers to what is freed here */
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(list);
    return err;
}

int
tr_http_header(struct tr_http *h, const char *name, char *buf, size_t bufsz)
{
    struct curl_header *hh;

    buf[0] = '\0';
    if (h->curl == NULL || h->status == 0 ||
        curl_easy_header(h->curl, name, 0, CURLH_HEADER, -1, &hh) != CURLHE_OK)
        return 0;
    snprintf(buf, bufsz, "%s", hh->value);
    return 1;
}
