/*
 * test-render: the seed's message text exactly, HTML escaping of CRM
 * strings, amounts, the "Без имени" / "N/A" defaults and the length bound.
 */
#include <stdlib.h>
#include <string.h>

#include "libtraffic/base/buf.h"
#include "libtraffic/outgoing/render.h"
#include "tap.h"

static const char seed_message[] = "🎉 НОВАЯ ПРОДАЖА!\n"
                                   "👑 Таргетолог: Kenesary\n"
                                   "👤 Клиент: Тест Клиент\n"
                                   "💰 Сумма: 100,000 ₸\n"
                                   "📦 Продукт: Main Product (VAMUS RM)\n"
                                   "🏷️ Кампания: tripwire_dec20";

/* The combined message: its layout, its limit, whole lines only. */
static void
test_batch(void)
{
    struct tr_sale_view v[12];
    char *msg = NULL, *plain, *big;
    size_t fit, i;

    memset(v, 0, sizeof(v));
    for (i = 0; i < 12; i++) {
        v[i].emoji = "👑";
        v[i].targetologist = "Kenesary";
        v[i].price = "100000";
        v[i].currency = "KZT";
        v[i].campaign = "tripwire_dec20";
    }
    v[0].client = "Тест <Клиент>";
    v[1].emoji = "🦁";
    v[1].targetologist = "Arystan";
    v[1].price = "50000.5";
    v[1].campaign = NULL;
    tr_render_batch(v, 2, 1, &msg, &fit);
    is_str(msg,
           "🎉 НОВЫЕ ПРОДАЖИ: 2\n"
           "👑 Kenesary — Тест &lt;Клиент&gt; — 100,000 ₸ — tripwire_dec20\n"
           "🦁 Arystan — Без имени — 50,000.50 ₸ — N/A",
           "two sales: a header and a line each, escaped");
    ok(fit == 2, "both fit");
    free(msg);
    tr_render_batch(v, 12, 0, &msg, &fit);
    ok(fit == TR_RENDER_BATCH_MAX && strstr(msg, "ПРОДАЖИ: 10\n") != NULL,
       "twelve waiting: ten in one message");
    free(msg);

    /* lines of ~1500 characters: two fit in 4096, never a third cut */
    big = malloc(TR_RENDER_FIELD_MAX + 1);
    memset(big, 'c', TR_RENDER_FIELD_MAX);
    big[TR_RENDER_FIELD_MAX] = '\0';
    for (i = 0; i < 12; i++)
        v[i].client = v[i].campaign = v[i].targetologist = big;
    tr_render_batch(v, 10, 1, &msg, &fit);
    plain = tr_render_plain(msg);
    ok(fit == 2 && tr_render_length(plain) <= TR_TELEGRAM_TEXT_MAX,
       "long lines: %zu fit, %zu characters", fit, tr_render_length(plain));
    ok(strstr(msg, "ПРОДАЖИ: 2\n") != NULL, "the header counts them");
    free(plain);
    free(msg);
    tr_render_batch(v, 1, 1, &msg, &fit);
    ok(fit == 1, "one always fits");
    free(msg);
    free(big);

    plain = tr_render_plain("<b>Итоги</b> &lt;a&gt; &amp;&quot; &nbsp;");
    is_str(plain, "Итоги <a> &\" &nbsp;", "plain text of our HTML");
    free(plain);
}

/* Russian plurals: a fixed table, not a second implementation. */
static void
test_plurals(void)
{
    static const struct {
        long n;
        const char *want;
    } t[] = {
        {0, "продаж"},     {1, "продажа"},   {2, "продажи"},  {3, "продажи"},
        {4, "продажи"},    {5, "продаж"},    {10, "продаж"},  {11, "продаж"},
        {12, "продаж"},    {14, "продаж"},   {15, "продаж"},  {20, "продаж"},
        {21, "продажа"},   {22, "продажи"},  {24, "продажи"}, {25, "продаж"},
        {101, "продажа"},  {111, "продаж"},  {112, "продаж"}, {122, "продажи"},
        {1001, "продажа"}, {1011, "продаж"},
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        is_str(tr_render_sales_word(t[i].n), t[i].want, "%ld %s", t[i].n,
               t[i].want);
}

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
    tr_buf_init(&b, 1024);
    tr_render_escape(&b, "&<&>&", 3);
    is_str(b.data, "&amp;&lt;&amp;\xE2\x80\xA6",
           "a cut counts an escaped character as one");
    tr_buf_release(&b);
    ok(tr_render_length("a😀б") == 4, "length in UTF-16 units");
    test_batch();
    test_plurals();
    return done_testing();
}
