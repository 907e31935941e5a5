/*
 * request.c: answers, reason phrases, query parameters.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "base/text.h"
#include "base/request.h"

void
tr_response_init(struct tr_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    tr_buf_init(&resp->body, TR_RESPONSE_MAX);
}

void
tr_response_release(struct tr_response *resp)
{
    tr_buf_release(&resp->body);
}

const char *
tr_response_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    }
    return "Unknown";
}

void
tr_response_error(struct tr_response *resp, int status, const char *error)
{
    struct json_object *o = json_object_new_object();

    resp->status = status;
    tr_buf_reset(&resp->body);
    if (resp->error[0] == '\0')
        snprintf(resp->error, sizeof(resp->error), "%s", error);
    if (o == NULL) {
        tr_buf_adds(&resp->body, "{\"success\":false}");
        return;
    }
    json_object_object_add(o, "success", json_object_new_boolean(0));
    json_object_object_add(o, "error", json_object_new_string(error));
    tr_buf_adds(&resp->body, json_object_to_json_string_ext(
                                 o, JSON_C_TO_STRING_PLAIN |
                                        JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

int
tr_query_param(const char *query, const char *key, char *buf, size_t bufsz)
{
    size_t k = strlen(key), n;
    const char *p = query, *why;
    long len;

    while (p != NULL && *p != '\0') {
        n = strcspn(p, "&");
        if (n > k && strncmp(p, key, k) == 0 && p[k] == '=') {
            /* decoding never makes a value longer */
            if (n - k - 1 >= bufsz ||
                (len = tr_text_url_decode(p + k + 1, n - k - 1, buf, &why)) < 0)
                return -1;
            buf[len] = '\0';
            return 1;
        }
        p += n + (p[n] == '&');
    }
    return 0;
}
