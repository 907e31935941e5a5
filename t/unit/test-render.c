/*
 * test-render: the seed's message text exactly, HTML escaping of CRM
 * strings, amounts, the "Без имени" / "N/A" defaults and the length bound.
 */
#include <stdlib.h>
#include <string.h>

#include "libtraffic/buf.h"
#include "libtraffic/render.h"
#include "tap.h"

static const char seed_message[] = "🎉 НОВАЯ ПРОДАЖА!\n"
                                   "👑 Таргетолог: Kenesary\n"
                                   "👤 Клиент: Тест Клиент\n"
                                   "💰 Сумма: 100,000 ₸\n"
                                   "📦 Продукт: Main Product (VAMUS RM)\n"
                                   "🏷️ Кампания: tripwire_dec20";

int
main(void)
{
    static const struct {
        const char *price, *currency, *want;
    } amounts[] = {
        {"100000", "KZT", "100,000 ₸"},
        {"0", "KZT", "0 ₸"},
        {"999", "KZT", "999 ₸"},
        {"1000", "RUB", "1,000 ₽"},
        {"1234567.5", "KZT", "1,234,567.50 ₸"},
        {"12.05", "USD", "12.05 $"},
        {"1000000000000", "KZT", "1,000,000,000,000 ₸"},
        {"", "KZT", "не указана"},
        {NULL, "KZT", "не указана"},
        {"5", "GBP", "5 GBP"},
    };
    struct tr_sale_view v = {"👑",
                             "Kenesary",
                             "Тест Клиент",
                             "100000",
                             "KZT",
                             "Main Product (VAMUS RM)",
                             "tripwire_dec20"};
    struct tr_buf b;
    char buf[128], *msg = NULL, *big;
    size_t i;

    ok(tr_render_message(&v, 1, &msg) == TR_OK, "renders");
    is_str(msg, seed_message, "the seed's message, exactly");
    free(msg);

    for (i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++) {
        tr_render_amount(amounts[i].price, amounts[i].currency, buf,
                         sizeof(buf));
        is_str(buf, amounts[i].want, "amount %s %s",
               amounts[i].price ? amounts[i].price : "(null)",
               amounts[i].currency);
    }

    v.client = "<b>Ivan & \"Co\"</b>_*";
    v.campaign = "a<b>c";
    tr_render_message(&v, 1, &msg);
    ok(strstr(msg,
              "👤 Клиент: &lt;b&gt;Ivan &amp; &quot;Co&quot;&lt;/b&gt;_*\n") !=
           NULL,
       "client name escaped for HTML, _ and * kept");
    ok(strstr(msg, "Кампания: a&lt;b&gt;c") != NULL, "campaign escaped");
    free(msg);
    tr_render_message(&v, 0, &msg);
    ok(strstr(msg, "👤 Клиент: <b>Ivan & \"Co\"</b>_*\n") != NULL,
       "plain text: the client name as it is");
    free(msg);

    v.client = NULL;
    v.campaign = "";
    v.price = "";
    tr_render_message(&v, 1, &msg);
    ok(strstr(msg, "👤 Клиент: Без имени\n") != NULL, "no client: Без имени");
    ok(strstr(msg, "🏷️ Кампания: N/A") != NULL,
       "no campaign: N/A");
    ok(strstr(msg, "💰 Сумма: не указана\n") != NULL, "unknown amount");
    free(msg);

    big = malloc(20001);
    memset(big, 'x', 20000);
    big[20000] = '\0';
    v.client = big;
    v.campaign = big;
    v.product = big;
    v.targetologist = big;
    tr_render_message(&v, 1, &msg);
    ok(tr_render_length(msg) < TR_TELEGRAM_TEXT_MAX,
       "huge fields: %zu characters, under 4096", tr_render_length(msg));
    ok(strstr(msg, "🎉 НОВАЯ ПРОДАЖА!\n") == msg &&
           strstr(msg, "\n🏷️ Кампания: ") != NULL,
       "markup lines survive truncation");
    ok(strstr(msg, "x…\n") != NULL, "cut fields end with …");
    free(msg);
    memset(big, '&', 20000);
    tr_render_message(&v, 1, &msg);
    ok(tr_render_length(msg) < 4 * TR_TELEGRAM_TEXT_MAX &&
           strstr(msg, "&amp;&amp;") != NULL,
       "entities count as one character each");
    free(msg);
    free(big);

    tr_buf_init(&b, 1024);
    tr_render_escape(&b,
                     "ok\xff\xc0"
                     "end",
                     100);
    is_str(b.data,
           "ok\xEF\xBF\xBD\xEF\xBF\xBD"
           "end",
           "invalid bytes replaced");
    tr_buf_release(&b);
    ok(tr_render_length("a😀б") == 4, "length in UTF-16 units");
    return done_testing();
}
