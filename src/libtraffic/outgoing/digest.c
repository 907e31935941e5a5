/*
 * digest.c: the daily summary's numbers, its text, and queueing it once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/num.h"
#include "outgoing/digest.h"
#include "outgoing/outbox.h"
#include "outgoing/render.h"
#include "outgoing/roi.h"
#include "base/rules.h"
#include "sql.h"
#include "db/rows.h"
#include "db/store.h"

/* One line of the summary: a targetologist's day and the day before. */
struct line {
    const char *who, *emoji;
    long n, prev_n;
    const char *amount, *prev_amount;
};

static void
amount(struct tr_buf *b, const struct tr_config *cfg, const char *value)
{
    char text[96];

    tr_render_amount(value ? value : "0", cfg->currency, text, sizeof(text));
    tr_render_escape(b, text, TR_RENDER_FIELD_MAX);
}

/* "👑 Kenesary: 3 продажи — 450,000 ₸ (вчера: 2 — 300,000 ₸)" */
static void
add_line(struct tr_buf *b, const struct tr_config *cfg, const struct line *l,
         int total, int html)
{
    tr_buf_adds(b, "\n");
    if (total)
        tr_buf_adds(b, html ? "\xF0\x9F\x92\xB0 <b>Всего: " /* 💰 */
                            : "\xF0\x9F\x92\xB0 Всего: ");
    if (!total) {
        tr_render_escape(b, l->emoji ? l->emoji : "", TR_RENDER_FIELD_MAX);
        tr_buf_adds(b, " ");
        tr_render_escape(b, l->who, TR_RENDER_FIELD_MAX);
        tr_buf_adds(b, ": ");
    }
    tr_buf_addf(b, "%ld %s \xE2\x80\x94 ", l->n,
                tr_render_sales_word(l->n)); /* — */
    amount(b, cfg, l->amount);
    if (total && html)
        tr_buf_adds(b, "</b>");
    tr_buf_addf(b, " (вчера: %ld \xE2\x80\x94 ", l->prev_n);
    amount(b, cfg, l->prev_amount);
    tr_buf_adds(b, ")");
}

/* The row of res for who (NULL: the total), or -1. */
static int
row_of(const struct tr_rows *res, const char *what, const char *who)
{
    int r;

    for (r = 0; r < tr_rows_count(res); r++)
        if (strcmp(tr_rows_text(res, r, "what"), what) == 0 &&
            (who == NULL ? tr_rows_null(res, r, "who")
                         : strcmp(tr_rows_text(res, r, "who"), who) == 0))
            return r;
    return -1;
}

static struct line
line_of(const struct tr_rows *res, const char *who, const char *emoji)
{
    struct line l = {who, emoji, 0, 0, "0", "0"};
    int r = row_of(res, "sales", who);

    if (r >= 0) {
        l.n = tr_rows_long(res, r, "n");
        l.amount = tr_rows_text(res, r, "amount");
        l.prev_n = tr_rows_long(res, r, "prev_n");
        l.prev_amount = tr_rows_text(res, r, "prev_amount");
    }
    return l;
}

/* The targetologists' lines: the rules' order, the fallback, then any name
 * the rules no longer have; zero days left out when there are many. */
static void
add_lines(struct tr_buf *b, const struct tr_config *cfg,
          const struct tr_rules *rules, const struct tr_rows *res, int html)
{
    int quiet = rules->n > 12, r;
    struct line l;
    size_t i;

    for (i = 0; i <= rules->n; i++) {
        const struct tr_rule *rule =
            i < rules->n ? &rules->v[i] : &rules->fallback;

        l = line_of(res, rule->name, rule->emoji);
        if (!quiet || l.n > 0 || l.prev_n > 0)
            add_line(b, cfg, &l, 0, html);
    }
    for (r = 0; r < tr_rows_count(res); r++) {
        if (tr_rows_null(res, r, "who") ||
            strcmp(tr_rows_text(res, r, "what"), "sales") ||
            tr_rules_find(rules, tr_rows_text(res, r, "who")) != NULL)
            continue;
        l = line_of(res, tr_rows_text(res, r, "who"), "\xE2\x80\xA2"); /* • */
        add_line(b, cfg, &l, 0, html);
    }
}

/* The day's changes: "↩️ Отменено: 1 — 100,000 ₸", price
 * changes, restorations. */
static void
add_changes(struct tr_buf *b, const struct tr_config *cfg,
            const struct tr_rows *res)
{
    int r = row_of(res, "reversed", NULL);

    tr_buf_addf(b, "\n\xE2\x86\xA9\xEF\xB8\x8F Отменено: %s \xE2\x80\x94 ",
                r >= 0 ? tr_rows_text(res, r, "n") : "0"); /* ↩️ */
    amount(b, cfg, r >= 0 ? tr_rows_text(res, r, "amount") : "0");
    r = row_of(res, "price_changed", NULL);
    tr_buf_addf(b, "\n\xE2\x9C\x8F\xEF\xB8\x8F Изменена цена: %s", /* ✏️ */
                r >= 0 ? tr_rows_text(res, r, "n") : "0");
    if ((r = row_of(res, "restored", NULL)) >= 0)
        tr_buf_addf(b, "\n\xE2\x9C\x85 Восстановлено: %s", /* ✅ */
                    tr_rows_text(res, r, "n"));
}

/* The ROI order: a defined ROI first, the highest first; then the rest
 * in their order (the rules'). */
static int
by_roi(const void *a, const void *b)
{
    const struct tr_roi_row *x = *(const struct tr_roi_row *const *)a;
    const struct tr_roi_row *y = *(const struct tr_roi_row *const *)b;
    double dx, dy;

    if (!x->roi[0] || !y->roi[0])
        return x->roi[0] ? -1 : y->roi[0] ? 1 : (x < y ? -1 : x > y);
    dx = strtod(x->roi, NULL);
    dy = strtod(y->roi, NULL);
    return dx > dy ? -1 : dx < dy ? 1 : (x < y ? -1 : x > y);
}

/* One ROI line: "👑 Kenesary: ROI 301% · расход 87,285 ₸ · выручка ...". */
static void
roi_line(struct tr_buf *b, const struct tr_config *cfg,
         const struct tr_rules *rules, const struct tr_roi_row *o)
{
    const struct tr_rule *rule = tr_rules_find(rules, o->who);

    if (o->who[0] == '\0') {
        tr_buf_adds(b, "\n\xF0\x9F\x92\xB0 Всего: "); /* 💰 */
    } else {
        tr_buf_adds(b, "\n");
        tr_render_escape(b, rule ? rule->emoji : "\xE2\x80\xA2",
                         TR_RENDER_FIELD_MAX);
        tr_buf_adds(b, " ");
        tr_render_escape(b, o->who, TR_RENDER_FIELD_MAX);
        tr_buf_adds(b, ": ");
    }
    if (strcmp(o->spend, "0") == 0) {
        tr_buf_adds(b, "расходов нет");
        return;
    }
    if (o->roi[0])
        tr_buf_addf(b, "ROI %.0f%% \xC2\xB7 ", strtod(o->roi, NULL)); /* · */
    tr_buf_adds(b, "расход ");
    amount(b, cfg, o->spend);
    tr_buf_adds(b, " \xC2\xB7 выручка ");
    amount(b, cfg, o->revenue);
    if (o->roi[0] && o->who[0] &&
        strtod(o->roi, NULL) < (double)cfg->roi_target_pct)
        tr_buf_adds(b, " \xE2\x9A\xA0\xEF\xB8\x8F ниже цели \xE2\x80\x94 "
                       "проверь таргетинг"); /* ⚠️ — */
    if (o->no_rate)
        tr_buf_adds(b, " (часть расходов без курса)");
}

/* With FACEBOOK_ADS_TOKEN: ROI per targetologist for day (or the day
 * before, DIGEST_ROI_DAY), sorted by ROI, and the rates used. */
static enum tr_err
add_roi(struct tr_buf *b, struct tr_store *store, const struct tr_config *cfg,
        const struct tr_rules *rules, const char *day, char *msg, size_t msgsz)
{
    const struct tr_roi_row **order;
    struct tr_roi roi;
    char d[16];
    size_t i;

    if (cfg->fb_token == NULL)
        return TR_OK;
    if (cfg->digest_roi_yesterday)
        tr_day_add(day, -1, d, sizeof(d));
    else
        snprintf(d, sizeof(d), "%.10s", day);
    if (tr_roi_compute(store, cfg, rules, d, d, &roi, msg, msgsz) != TR_OK)
        return TR_EDB;
    if ((order = calloc(roi.n, sizeof(*order))) == NULL) {
        tr_roi_release(&roi);
        return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    }
    for (i = 0; i + 1 < roi.n; i++)
        order[i] = &roi.v[i];
    qsort(order, roi.n - 1, sizeof(*order), by_roi);
    /* 📈 ROI за 06.12.2026 (цель 300%) */
    tr_buf_addf(b, "\n\n\xF0\x9F\x93\x88 ROI за %.2s.%.2s.%.4s (цель %ld%%):",
                d + 8, d + 5, d, cfg->roi_target_pct);
    for (i = 0; i + 1 < roi.n; i++)
        if (order[i]->sales > 0 || strcmp(order[i]->spend, "0") != 0 ||
            tr_rules_find(rules, order[i]->who) != NULL)
            roi_line(b, cfg, rules, order[i]);
    roi_line(b, cfg, rules, &roi.v[roi.n - 1]);
    if (roi.rates_ru.len > 0) {
        tr_buf_adds(b, "\n\xF0\x9F\x92\xB1 Курс: "); /* 💱 */
        tr_render_escape(b, roi.rates_ru.data, TR_RENDER_FIELD_MAX);
    }
    free(order);
    tr_roi_release(&roi);
    return TR_OK;
}

enum tr_err
tr_digest_render(struct tr_store *store, const struct tr_config *cfg,
                 const struct tr_rules *rules, const char *day, int late,
                 int html, char **out, char *msg, size_t msgsz)
{
    const char *p[2] = {day, cfg->tz};
    struct tr_buf b;
    struct line total;
    struct tr_rows *res;

    *out = NULL;
    if (strlen(day) != 10)
        return tr_fail(msg, msgsz, TR_EINVAL, "a day is YYYY-MM-DD");
    if ((res = tr_store_query(store, tr_sql_digest_stats, 2, p, msg, msgsz)) ==
        NULL)
        return TR_EDB;
    tr_buf_init(&b, 64 * 1024);
    /* 📊 Итоги дня: 01.12.2026 */
    tr_buf_addf(&b, "\xF0\x9F\x93\x8A %sИтоги дня: %.2s.%.2s.%.4s%s",
                html ? "<b>" : "", day + 8, day + 5, day, html ? "</b>" : "");
    if (late)
        tr_buf_adds(&b, "\n\xE2\x8F\xB0 С опозданием: сервис не отправил "
                        "итоги вовремя."); /* ⏰ */
    tr_buf_adds(&b, "\n");
    add_lines(&b, cfg, rules, res, html);
    tr_buf_adds(&b, "\n");
    total = line_of(res, NULL, NULL);
    add_line(&b, cfg, &total, 1, html);
    add_changes(&b, cfg, res);
    tr_rows_free(res);
    if (add_roi(&b, store, cfg, rules, day, msg, msgsz) != TR_OK) {
        tr_buf_release(&b);
        return TR_EDB;
    }
    if (b.data == NULL || (*out = tr_buf_detach(&b)) == NULL) {
        tr_buf_release(&b);
        return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
    }
    return TR_OK;
}

enum tr_err
tr_digest_queue(struct tr_store *store, const struct tr_config *cfg,
                const struct tr_rules *rules, const char *day, int late,
                int again, long *rows, char *msg, size_t msgsz)
{
    struct tr_chat_lists lists;
    const char *p[5];
    struct tr_rows *res;
    enum tr_err err;
    char *text;

    *rows = 0;
    if ((err = tr_digest_render(store, cfg, rules, day, late, 1, &text, msg,
                                msgsz)) != TR_OK)
        return err;
    tr_chat_lists(cfg->chats, cfg->nchats, &lists);
    p[0] = day;
    p[1] = text;
    p[2] = lists.ids;
    p[3] = lists.threads;
    p[4] = again ? "true" : "false";
    res = tr_store_query(store, tr_sql_digest_queue, 5, p, msg, msgsz);
    free(text);
    if (res == NULL)
        return TR_EDB;
    *rows = tr_rows_count(res);
    tr_rows_free(res);
    return TR_OK;
}

enum tr_err
tr_digest_due(struct tr_store *store, const struct tr_config *cfg,
              const struct tr_rules *rules, long *rows, char *msg, size_t msgsz)
{
    struct tr_chat_lists lists;
    char minute[16];
    const char *p[4] = {cfg->tz, minute, lists.ids, lists.threads};
    enum tr_err err = TR_OK;
    struct tr_rows *res;
    long queued;
    int r;

    *rows = 0;
    if (cfg->digest_minute < 0 || cfg->nchats == 0)
        return TR_OK;
    snprintf(minute, sizeof(minute), "%d", cfg->digest_minute);
    tr_chat_lists(cfg->chats, cfg->nchats, &lists);
    if ((res = tr_store_query(store, tr_sql_digest_due, 4, p, msg, msgsz)) ==
        NULL)
        return TR_EDB;
    for (r = 0; r < tr_rows_count(res) && err == TR_OK; r++) {
        err = tr_digest_queue(store, cfg, rules, tr_rows_text(res, r, "day"),
                              tr_rows_text(res, r, "late")[0] == 't', 0,
                              &queued, msg, msgsz);
        *rows += queued;
    }
    tr_rows_free(res);
    return err;
}

enum tr_err
tr_digest_today(struct tr_store *store, const struct tr_config *cfg, char *day,
                char *msg, size_t msgsz)
{
    const char *p[1] = {cfg->tz};
    struct tr_rows *res;

    if ((res = tr_store_query(store, tr_sql_digest_today, 1, p, msg, msgsz)) ==
        NULL)
        return TR_EDB;
    snprintf(day, 11, "%s", tr_rows_text(res, 0, "day"));
    tr_rows_free(res);
    return TR_OK;
}
