/*
 * test-telegram: Telegram's real sendMessage answers sorted into what the
 * outbox does next, and the token scrubbed out of messages.
 */
#include <stdio.h>
#include <string.h>

#include "libtraffic/base/http.h"
#include "libtraffic/outgoing/telegram.h"
#include "tap.h"

int
main(void)
{
    static const struct {
        long status;
        const char *body;
        enum tr_tg_outcome want;
        const char *what;
    } answers[] = {
        {200,
         "{\"ok\":true,\"result\":{\"message_id\":4711,\"chat\":"
         "{\"id\":-1001}}}",
         TR_TG_SENT, "ok"},
        {429,
         "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many "
         "Requests: retry after 7\",\"parameters\":{\"retry_after\":7}}",
         TR_TG_RETRY, "429 with retry_after"},
        {500,
         "{\"ok\":false,\"error_code\":500,\"description\":"
         "\"Internal Server Error\"}",
         TR_TG_RETRY, "500"},
        {502, "<html>Bad Gateway</html>", TR_TG_RETRY, "a proxy's 502 page"},
        {200, "not json", TR_TG_RETRY, "200 that is not the Bot API"},
        {400,
         "{\"ok\":false,\"error_code\":400,\"description\":\"Bad "
         "Request: chat not found\"}",
         TR_TG_FAILED, "chat not found"},
        {400,
         "{\"ok\":false,\"error_code\":400,\"description\":\"Bad "
         "Request: message thread not found\"}",
         TR_TG_FAILED, "thread not found"},
        {401,
         "{\"ok\":false,\"error_code\":401,\"description\":"
         "\"Unauthorized\"}",
         TR_TG_FAILED, "401 bad token"},
        {403,
         "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: "
         "bot was blocked by the user\"}",
         TR_TG_FAILED, "403 blocked"},
        {403,
         "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: "
         "bot was kicked from the supergroup chat\"}",
         TR_TG_FAILED, "403 kicked"},
        {400,
         "{\"ok\":false,\"error_code\":400,\"description\":\"Bad "
         "Request: can't parse entities: Unsupported start tag \\\"x\\\" "
         "at byte offset 10\"}",
         TR_TG_PLAIN, "can't parse entities"},
        {400,
         "{\"ok\":false,\"error_code\":400,\"description\":\"Bad "
         "Request: group chat was upgraded to a supergroup chat\","
         "\"parameters\":{\"migrate_to_chat_id\":-1001234567890}}",
         TR_TG_MIGRATED, "migrate_to_chat_id"},
    };
    struct tr_tg_result r;
    char msg[128];
    size_t i;

    for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        tr_telegram_classify(answers[i].status, answers[i].body,
                             strlen(answers[i].body), &r);
        ok(r.outcome == answers[i].want, "%s: outcome %d", answers[i].what,
           (int)r.outcome);
    }
    tr_telegram_classify(200, answers[0].body, strlen(answers[0].body), &r);
    ok(r.message_id == 4711, "message_id read");
    tr_telegram_classify(429, answers[1].body, strlen(answers[1].body), &r);
    ok(r.retry_after == 7, "retry_after read");
    tr_telegram_classify(400, answers[5].body, strlen(answers[5].body), &r);
    is_str(r.description, "Bad Request: chat not found",
           "the description is Telegram's");
    tr_telegram_classify(400, answers[11].body, strlen(answers[11].body), &r);
    is_str(r.migrate_to, "-1001234567890", "the new chat id");
    tr_telegram_classify(0, NULL, 0, &r);
    ok(r.outcome == TR_TG_RETRY, "no answer at all: retry");

    snprintf(msg, sizeof(msg),
             "GET /bot123:SECRET/sendMessage and "
             "123:SECRET again");
    tr_http_scrub(msg, "123:SECRET");
    is_str(msg, "GET /bot***/sendMessage and *** again", "token scrubbed");
    return done_testing();
}
