/*
 * render.h: the Telegram message of a sale, as the seed shows it.
 *
 *     🎉 НОВАЯ ПРОДАЖА!
 *     👑 Таргетолог: Kenesary
 *     👤 Клиент: Тест Клиент
 *     💰 Сумма: 100,000 ₸
 *     📦 Продукт: Main Product (VAMUS RM)
 *     🏷️ Кампания: tripwire_dec20
 *
 * The text is for Telegram's HTML parse mode: every CRM-sourced string is
 * escaped, and each is cut to TR_RENDER_FIELD_MAX characters so the message
 * always stays under Telegram's 4096.
 */
#ifndef TR_RENDER_H
#define TR_RENDER_H

#include <stddef.h>

#include "base/err.h"

#define TR_RENDER_FIELD_MAX 500   /* characters of one CRM string */
#define TR_TELEGRAM_TEXT_MAX 4096 /* Telegram's limit, in characters */

struct tr_sale_view {
    const char *emoji; /* the targetologist's */
    const char *targetologist;
    const char *client;   /* NULL or "" renders "Без имени" */
    const char *price;    /* normalised; NULL or "" is unknown */
    const char *currency; /* "KZT", "RUB", ... */
    const char *product;
    const char *campaign; /* NULL or "" renders "N/A" */
};

/* What a reply about a sale says: reversed (with the reason) or restored. */
struct tr_correction_view {
    int restored;     /* 0: reversed */
    const char *deal; /* the deal's name; NULL: "сделка #ID" */
    long long lead_id;
    const char *reason;               /* reversed: "deleted", "pipeline",
                                       * "status", or NULL */
    long long status_id, pipeline_id; /* where the deal went */
};

/*
 * Renders the message into a new string (free() it) in *out: for HTML parse
 * mode when html, else as plain text (the same words, nothing escaped).
 * TR_ENOMEM.
 */
enum tr_err tr_render_message(const struct tr_sale_view *sale, int html,
                              char **out);

#define TR_RENDER_BATCH_MAX 10 /* sales in one combined message */

/*
 * Renders the combined message of the first sales of v (at most n, at most
 * TR_RENDER_BATCH_MAX), oldest first, into a new string (free() it):
 *
 *     🎉 НОВЫЕ ПРОДАЖИ: 2
 *     👑 Kenesary — Тест Клиент — 100,000 ₸ — tripwire_dec20
 *     🔥 Arystan — Без имени — 50,000 ₸ — N/A
 *
 * as many as fit Telegram's 4096 characters whole (never a cut line): *fit
 * gets how many, at least one.  TR_ENOMEM.
 */
enum tr_err tr_render_batch(const struct tr_sale_view *v, size_t n, int html,
                            char **out, size_t *fit);

/*
 * The plain text of an HTML message of ours (the summary's): the tags
 * dropped, &amp; &lt; &gt; &quot; decoded, into a new string (free() it).
 * NULL without memory.
 */
char *tr_render_plain(const char *html);

/*
 * Renders the one-line reply about a sale into a new string (free() it):
 * "sale cancelled" with the deal's name, the sale's amount and the reason,
 * or "sale restored" with the name and amount, in Russian as the seed's
 * message (the words are in render.c).  TR_ENOMEM.
 */
enum tr_err tr_render_correction(const struct tr_correction_view *c,
                                 const struct tr_sale_view *sale, int html,
                                 char **out);

/*
 * Writes "100,000 ₸" (thousands separated by commas, kopecks only when
 * non-zero, the currency's symbol or its code) into buf.  An unknown price
 * gives "не указана".
 */
void tr_render_amount(const char *price, const char *currency, char *buf,
                      size_t bufsz);

/* "продажа", "продажи" or "продаж": the word Russian puts after n (1
 * продажа, 2-4 продажи, 5-20 продаж, 21 продажа, 111 продаж).  Pure. */
const char *tr_render_sales_word(long n);

/*
 * Appends s HTML-escaped (&, <, >, ") to *dst, cut to maxchars characters
 * with "…" when longer.  Invalid UTF-8 bytes are replaced.  Returns 0, or -1
 * without memory.
 */
struct tr_buf;
enum tr_err tr_render_escape(struct tr_buf *dst, const char *s,
                             size_t maxchars);

/* Telegram's length of a text: UTF-16 code units. */
size_t tr_render_length(const char *s);

#endif
