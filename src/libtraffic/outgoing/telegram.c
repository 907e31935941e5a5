/*
 * telegram.c: sendMessage and editMessageText over tr_http, and the reading
 * of their answers.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/num.h"
#include "outgoing/telegram.h"

#define LONGEST_METHOD "editMessageText"

enum tr_err
tr_telegram_init(struct tr_telegram *tg, const char *base, const char *token,
                 long timeout_ms)
{
    struct tr_buf url;

    memset(tg, 0, sizeof(*tg));
    tr_http_init(&tg->http);
    tg->timeout_ms = timeout_ms;
    tr_buf_init(&url, 4096);
    /* room for the longest method name after the prefix */
    if (tr_buf_addf(&url, "%s/bot%s/%s", base, token, LONGEST_METHOD) !=
            TR_OK ||
        (tg->url = tr_buf_detach(&url)) == NULL ||
        (tg->token = strdup(token)) == NULL) {
        tr_buf_release(&url);
        tr_telegram_release(tg);
        return TR_ENOMEM;
    }
    tg->urllen = strlen(tg->url) - strlen(LONGEST_METHOD);
    return TR_OK;
}

/* Points tg->url at method (no longer than LONGEST_METHOD). */
static void
method(struct tr_telegram *tg, const char *name)
{
    snprintf(tg->url + tg->urllen, strlen(LONGEST_METHOD) + 1, "%s", name);
}

void
tr_telegram_release(struct tr_telegram *tg)
{
    tr_http_release(&tg->http);
    free(tg->url);
    free(tg->token);
    memset(tg, 0, sizeof(*tg));
}

static int
contains(const char *s, const char *what)
{
    return s != NULL && strstr(s, what) != NULL;
}

void
tr_telegram_classify(long status, const char *body, size_t len,
                     struct tr_tg_result *r)
{
    struct json_tokener *tok = NULL;
    struct json_object *o = NULL, *v, *params;
    const char *desc = NULL;

    memset(r, 0, sizeof(*r));
    r->http_status = status;
    if (body != NULL && len > 0 && (tok = json_tokener_new()) != NULL) {
        o = json_tokener_parse_ex(tok, body, (int)(len > 65536 ? 65536 : len));
        json_tokener_free(tok);
    }
    if (o != NULL && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    if (o != NULL && json_object_object_get_ex(o, "description", &v) &&
        json_object_is_type(v, json_type_string))
        desc = json_object_get_string(v);
    snprintf(r->description, sizeof(r->description), "%s",
             desc ? desc : "no description");

    if (status == 200 && o != NULL && json_object_object_get_ex(o, "ok", &v) &&
        json_object_get_boolean(v)) {
        /* sendMessage's result has the message_id; getMe's and getChat's
         * do not */
        r->outcome = TR_TG_SENT;
        if (json_object_object_get_ex(o, "result", &v) &&
            json_object_object_get_ex(v, "message_id", &v))
            r->message_id = json_object_get_int64(v);
        r->description[0] = '\0';
        goto out;
    }
    if (o != NULL && json_object_object_get_ex(o, "parameters", &params)) {
        if (json_object_object_get_ex(params, "migrate_to_chat_id", &v) &&
            json_object_is_type(v, json_type_int)) {
            r->outcome = TR_TG_MIGRATED;
            snprintf(r->migrate_to, sizeof(r->migrate_to), "%lld",
                     (long long)json_object_get_int64(v));
            goto out;
        }
        if (json_object_object_get_ex(params, "retry_after", &v) &&
            json_object_is_type(v, json_type_int))
            r->retry_after = (long)json_object_get_int64(v);
    }
    if (status == 429 || status >= 500 || status < 400 || o == NULL) {
        /* rate limited, Telegram's trouble, or an answer that is not the
         * Bot API's (a proxy's error page): worth another try */
        r->outcome = TR_TG_RETRY;
        if (r->retry_after < 0 || r->retry_after > 86400)
            r->retry_after = 0;
        if (o == NULL)
            snprintf(r->description, sizeof(r->description),
                     "HTTP %ld without a Bot API answer", status);
        goto out;
    }
    if (status == 400 && contains(desc, "can't parse entities")) {
        r->outcome = TR_TG_PLAIN;
        goto out;
    }
    if (status == 400 && (contains(desc, "message is not modified") ||
                          contains(desc, "message to edit not found") ||
                          contains(desc, "message can't be edited"))) {
        r->outcome = TR_TG_MOOT;
        goto out;
    }
    /* 400 chat not found / thread not found, 401, 403 blocked, kicked,
     * not a member: sending again cannot help */
    r->outcome = TR_TG_FAILED;
out:
    json_object_put(o);
}

/* chat_id: numeric ids as numbers, "@channel" as a string. */
static void
add_chat(struct json_object *o, const char *chat)
{
    int64_t id;

    if (tr_parse_id(chat + (chat[0] == '-'), &id) == 0)
        json_object_object_add(
            o, "chat_id", json_object_new_int64(chat[0] == '-' ? -id : id));
    else
        json_object_object_add(o, "chat_id", json_object_new_string(chat));
}

/* POSTs o to tg->url and sorts the answer into r. */
static enum tr_err
call(struct tr_telegram *tg, struct json_object *o, struct tr_tg_result *r)
{
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Expect:", NULL};
    enum tr_err err;

    err = tr_http_request(
        &tg->http, tg->url, headers,
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                              JSON_C_TO_STRING_NOSLASHESCAPE),
        tg->timeout_ms, tg->token, r->description, sizeof(r->description));
    if (err == TR_ENOMEM)
        return err;
    if (err != TR_OK) {
        r->outcome = TR_TG_RETRY;
        return TR_OK;
    }
    tr_telegram_classify(tg->http.status, tg->http.answer.data,
                         tg->http.answer.len, r);
    tr_http_scrub(r->description, tg->token);
    return TR_OK;
}

enum tr_err
tr_telegram_send(struct tr_telegram *tg, const struct tr_tg_message *m,
                 struct tr_tg_result *r)
{
    struct json_object *o, *lp = NULL, *rp = NULL;
    enum tr_err err;

    memset(r, 0, sizeof(*r));
    if ((o = json_object_new_object()) == NULL ||
        (lp = json_object_new_object()) == NULL ||
        (m->reply_to != 0 && (rp = json_object_new_object()) == NULL)) {
        json_object_put(o);
        json_object_put(lp);
        return TR_ENOMEM;
    }
    add_chat(o, m->chat);
    if (m->edit != 0)
        json_object_object_add(o, "message_id", json_object_new_int64(m->edit));
    else if (m->thread != 0)
        json_object_object_add(o, "message_thread_id",
                               json_object_new_int64(m->thread));
    if (rp != NULL) {
        /* the reply still goes when the message it answers was deleted */
        json_object_object_add(rp, "message_id",
                               json_object_new_int64(m->reply_to));
        json_object_object_add(rp, "allow_sending_without_reply",
                               json_object_new_boolean(1));
        json_object_object_add(o, "reply_parameters", rp);
    }
    json_object_object_add(o, "text", json_object_new_string(m->text));
    if (m->html)
        json_object_object_add(o, "parse_mode", json_object_new_string("HTML"));
    json_object_object_add(lp, "is_disabled", json_object_new_boolean(1));
    json_object_object_add(o, "link_preview_options", lp);
    method(tg, m->edit != 0 ? "editMessageText" : "sendMessage");
    err = call(tg, o, r);
    json_object_put(o);
    return err;
}

enum tr_err
tr_telegram_check(struct tr_telegram *tg, const char *chat,
                  struct tr_tg_result *r)
{
    struct json_object *o;
    enum tr_err err;

    memset(r, 0, sizeof(*r));
    if ((o = json_object_new_object()) == NULL)
        return TR_ENOMEM;
    if (chat != NULL)
        add_chat(o, chat);
    method(tg, chat != NULL ? "getChat" : "getMe");
    err = call(tg, o, r);
    json_object_put(o);
    return err;
}
