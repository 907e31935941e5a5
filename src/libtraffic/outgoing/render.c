/*
 * render.c: message text, HTML escaping and amounts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "base/buf.h"
#include "outgoing/render.h"

static const struct {
    const char *code;
    const char *symbol;
} currencies[] = {
    {"KZT", "\xE2\x82\xB8"}, /* ₸ */
    {"RUB", "\xE2\x82\xBD"}, /* ₽ */
    {"USD", "$"},
    {"EUR", "\xE2\x82\xAC"}, /* € */
    {"UAH", "\xE2\x82\xB4"}, /* ₴ */
    {"UZS", "so'm"},
    {"KGS", "\xE2\x83\x80"}, /* ⃀ */
};

void
tr_render_amount(const char *price, const char *currency, char *buf,
                 size_t bufsz)
{
    const char *sym = currency ? currency : "";
    const char *dot;
    char digits[64];
    size_t ilen, i, o = 0, k;

    for (k = 0; k < sizeof(currencies) / sizeof(currencies[0]); k++)
        if (currency != NULL && strcmp(currency, currencies[k].code) == 0)
            sym = currencies[k].symbol;
    if (price == NULL || price[0] == '\0') {
        snprintf(buf, bufsz, "не указана");
        return;
    }
    dot = strchr(price, '.');
    ilen = dot ? (size_t)(dot - price) : strlen(price);
    if (ilen > 20) {
        snprintf(buf, bufsz, "%s %s", price, sym);
        return;
    }
    for (i = 0; i < ilen; i++) {
        if (i > 0 && (ilen - i) % 3 == 0)
            digits[o++] = ',';
        digits[o++] = price[i];
    }
    digits[o] = '\0';
    if (dot != NULL && strspn(dot + 1, "0") != strlen(dot + 1)) {
        /* "99.5" is 99 tenge 50 tiyn: always two fraction digits */
        char frac[3] = {dot[1], dot[2] ? dot[2] : '0', '\0'};

        snprintf(buf, bufsz, "%s.%s %s", digits, frac, sym);
    } else {
        snprintf(buf, bufsz, "%s %s", digits, sym);
    }
}

/* Appends s cut to maxchars characters, HTML-escaped when html. */
static enum tr_err
put_text(struct tr_buf *dst, const char *s, size_t maxchars, int html)
{
    const uint8_t *p = (const uint8_t *)s, *end;
    size_t chars = 0;
    enum tr_err err = TR_OK;
    ucs4_t uc;
    int n;

    if (s == NULL)
        return TR_OK;
    end = p + strlen(s);
    while (p < end && err == TR_OK) {
        if (chars == maxchars) {
            return tr_buf_adds(dst, "\xE2\x80\xA6"); /* … */
        }
        n = u8_mbtoucr(&uc, p, (size_t)(end - p));
        if (n < 0) {
            err = tr_buf_adds(dst, "\xEF\xBF\xBD"); /* U+FFFD */
            p++;
            chars++;
            continue;
        }
        switch (html ? *p : 0) {
        case '&':
            err = tr_buf_adds(dst, "&amp;");
            break;
        case '<':
            err = tr_buf_adds(dst, "&lt;");
            break;
        case '>':
            err = tr_buf_adds(dst, "&gt;");
            break;
        case '"':
            err = tr_buf_adds(dst, "&quot;");
            break;
        default:
            err = tr_buf_add(dst, p, (size_t)n);
        }
        p += n;
        chars++;
    }
    return err;
}

enum tr_err
tr_render_escape(struct tr_buf *dst, const char *s, size_t maxchars)
{
    return put_text(dst, s, maxchars, 1);
}

size_t
tr_render_length(const char *s)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + strlen(s);
    size_t units = 0;
    ucs4_t uc;
    int n;

    while (p < end) {
        n = u8_mbtoucr(&uc, p, (size_t)(end - p));
        if (n < 0)
            n = 1;
        units += n == 4 ? 2 : 1;
        p += n;
    }
    return units;
}

static int
empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

enum tr_err
tr_render_message(const struct tr_sale_view *sale, int html, char **out)
{
    struct tr_buf b;
    char amount[96];
    enum tr_err err = TR_OK;

    *out = NULL;
    tr_buf_init(&b, 64 * 1024);
    tr_render_amount(sale->price, sale->currency, amount, sizeof(amount));
#define ADD(s) err = err != TR_OK ? err : tr_buf_adds(&b, (s))
#define ESC(s)                                                                 \
    err = err != TR_OK ? err : put_text(&b, (s), TR_RENDER_FIELD_MAX, html)
    ADD("\xF0\x9F\x8E\x89 НОВАЯ ПРОДАЖА!\n"); /* 🎉 */
    ESC(sale->emoji);
    ADD(" Таргетолог: ");
    ESC(sale->targetologist);
    ADD("\n\xF0\x9F\x91\xA4 Клиент: "); /* 👤 */
    if (empty(sale->client))
        ADD("Без имени");
    else
        ESC(sale->client);
    ADD("\n\xF0\x9F\x92\xB0 Сумма: "); /* 💰 */
    ESC(amount);
    ADD("\n\xF0\x9F\x93\xA6 Продукт: "); /* 📦 */
    ESC(sale->product);
    ADD("\n\xF0\x9F\x8F\xB7\xEF\xB8\x8F Кампания: "); /* 🏷️ */
    if (empty(sale->campaign))
        ADD("N/A");
    else
        ESC(sale->campaign);
#undef ADD
#undef ESC
    if (err != TR_OK) {
        tr_buf_release(&b);
        return TR_ENOMEM;
    }
    *out = tr_buf_detach(&b);
    return *out ? TR_OK : TR_ENOMEM;
}

/* One line of a combined message. */
static enum tr_err
batch_line(struct tr_buf *b, const struct tr_sale_view *s, int html)
{
    char amount[96];
    enum tr_err err = TR_OK;

    tr_render_amount(s->price, s->currency, amount, sizeof(amount));
#define ADD(t) err = err != TR_OK ? err : tr_buf_adds(b, (t))
#define ESC(t)                                                                 \
    err = err != TR_OK ? err : put_text(b, (t), TR_RENDER_FIELD_MAX, html)
    ADD("\n");
    ESC(s->emoji);
    ADD(" ");
    ESC(s->targetologist);
    ADD(" \xE2\x80\x94 "); /* — */
    if (empty(s->client))
        ADD("Без имени");
    else
        ESC(s->client);
    ADD(" \xE2\x80\x94 ");
    ESC(amount);
    ADD(" \xE2\x80\x94 ");
    if (empty(s->campaign))
        ADD("N/A");
    else
        ESC(s->campaign);
#undef ADD
#undef ESC
    return err;
}

enum tr_err
tr_render_batch(const struct tr_sale_view *v, size_t n, int html, char **out,
                size_t *fit)
{
    struct tr_buf b;
    size_t k, len;
    enum tr_err err = TR_OK;

    *out = NULL;
    if (n > TR_RENDER_BATCH_MAX)
        n = TR_RENDER_BATCH_MAX;
    /* what Telegram counts is the plain text: the header's longest form */
    tr_buf_init(&b, 64 * 1024);
    len = tr_render_length("\xF0\x9F\x8E\x89 НОВЫЕ ПРОДАЖИ: 10");
    for (k = 0; k < n && err == TR_OK; k++) {
        tr_buf_reset(&b);
        if ((err = batch_line(&b, &v[k], 0)) != TR_OK ||
            len + tr_render_length(b.data) > TR_TELEGRAM_TEXT_MAX)
            break;
        len += tr_render_length(b.data);
    }
    *fit = k > 0 ? k : 1;
    tr_buf_reset(&b);
    err = err != TR_OK ? err
                       : tr_buf_addf(&b, "\xF0\x9F\x8E\x89 НОВЫЕ ПРОДАЖИ: %zu",
                                     *fit); /* 🎉 */
    for (k = 0; k < *fit && err == TR_OK; k++)
        err = batch_line(&b, &v[k], html);
    if (err != TR_OK) {
        tr_buf_release(&b);
        return TR_ENOMEM;
    }
    *out = tr_buf_detach(&b);
    return *out ? TR_OK : TR_ENOMEM;
}

char *
tr_render_plain(const char *html)
{
    static const struct {
        const char *entity, *c;
    } entities[] = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}};
    struct tr_buf b;
    size_t i, k;
    int err = 0;

    tr_buf_init(&b, 64 * 1024);
    for (i = 0; html[i] != '\0' && err == 0;) {
        if (html[i] == '<') {
            while (html[i] != '\0' && html[i] != '>')
                i++;
            i += html[i] == '>';
            continue;
        }
        for (k = 0; k < sizeof(entities) / sizeof(entities[0]); k++)
            if (strncmp(html + i, entities[k].entity,
                        strlen(entities[k].entity)) == 0)
                break;
        if (k < sizeof(entities) / sizeof(entities[0])) {
            err = tr_buf_adds(&b, entities[k].c) != TR_OK;
            i += strlen(entities[k].entity);
        } else {
            err = tr_buf_add(&b, html + i, 1) != TR_OK;
            i++;
        }
    }
    if (err) {
        tr_buf_release(&b);
        return NULL;
    }
    return b.data != NULL ? tr_buf_detach(&b) : strdup("");
}

/* Why a sale was reversed, as the team reads it. */
static void
reason_text(const struct tr_correction_view *c, char *buf, size_t bufsz)
{
    const char *r = c->reason ? c->reason : "";

    if (strcmp(r, "deleted") == 0)
        snprintf(buf, bufsz, "сделка удалена");
    else if (strcmp(r, "pipeline") == 0)
        snprintf(buf, bufsz, "сделка перенесена в воронку %lld",
                 c->pipeline_id);
    else if (c->status_id == 143)
        snprintf(buf, bufsz, "закрыто и не реализовано");
    else if (c->status_id != 0)
        snprintf(buf, bufsz, "сделка перенесена в статус %lld", c->status_id);
    else
        snprintf(buf, bufsz, "сделка больше не в статусе продажи");
}

enum tr_err
tr_render_correction(const struct tr_correction_view *c,
                     const struct tr_sale_view *sale, int html, char **out)
{
    struct tr_buf b;
    char amount[96], reason[128], deal[48];
    enum tr_err err;

    *out = NULL;
    tr_buf_init(&b, 8 * 1024);
    tr_render_amount(sale->price, sale->currency, amount, sizeof(amount));
    snprintf(deal, sizeof(deal), "сделка #%lld", c->lead_id);
    err = tr_buf_adds(&b, c->restored ? "\xE2\x9C\x85 Продажа восстановлена: "
                                      : "\xE2\x86\xA9\xEF\xB8\x8F Продажа "
                                        "отменена: ");
    if (err == TR_OK)
        err = put_text(&b, empty(c->deal) ? deal : c->deal, TR_RENDER_FIELD_MAX,
                       html);
    if (err == TR_OK)
        err = tr_buf_addf(&b, " \xE2\x80\x94 %s", amount); /* — */
    if (err == TR_OK && !c->restored) {
        reason_text(c, reason, sizeof(reason));
        err = tr_buf_addf(&b, " (%s)", reason);
    }
    if (err != TR_OK) {
        tr_buf_release(&b);
        return TR_ENOMEM;
    }
    *out = tr_buf_detach(&b);
    return *out ? TR_OK : TR_ENOMEM;
}

const char *
tr_render_sales_word(long n)
{
    long d = n % 10, h = n % 100;

    if (d == 1 && h != 11)
        return "продажа";
    if (d >= 2 && d <= 4 && (h < 12 || h > 14))
        return "продажи";
    return "продаж";
}
