/*
 * status.c: GET /admin/, the status page: server-rendered HTML with its
 * styles inline, no script and no outside asset, readable on a phone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observe/admin.h"
#include "observe/alerts.h"
#include "base/config.h"
#include "outgoing/render.h"
#include "base/request.h"
#include "base/rules.h"
#include "intake/spool.h"
#include "sql.h"
#include "observe/status.h"
#include "outgoing/roi.h"
#include "db/rows.h"
#include "db/store.h"

#define CHART_W 400 /* a name, the bar, its amount and count */
#define LABEL_W 90
#define VALUE_W 130
#define BAR_H 22

/* One targetologist's row: counts and amounts of the three periods. */
struct row {
    const char *name;
    long n[3];
    double sum[3];
    const char *sum_text[3];
};

static const char *const periods[3] = {"day", "week", "month"};
static const char *const period_names[3] = {"Сегодня", "Неделя", "Месяц"};
/* status_sales.sql's columns of each period */
static const char *const counts[3] = {"day_n", "week_n", "month_n"};
static const char *const sums[3] = {"day_sum", "week_sum", "month_sum"};

static void
esc(struct tr_buf *b, const char *s)
{
    tr_render_escape(b, s ? s : "", TR_RENDER_FIELD_MAX);
}

static void
amount(struct tr_buf *b, const char *value, const char *currency)
{
    char text[96];

    tr_render_amount(value, currency, text, sizeof(text));
    esc(b, text);
}

static void
page_head(struct tr_buf *b)
{
    tr_buf_adds(
        b, "<!doctype html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, "
           "initial-scale=1\"><title>Traffic Dashboard — состояние</title>"
           "<style>body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;"
           "max-width:960px;padding:12px;color:#222}h1{font-size:1.3em}"
           "h2{font-size:1.1em;margin-top:1.4em}.wrap{overflow-x:auto}"
           "table{border-collapse:collapse;width:100%}th,td{text-align:left;"
           "padding:4px 6px;border-bottom:1px solid #ddd;vertical-align:top}"
           "td.n,th.n{text-align:right;white-space:nowrap}td.r,th.r{text-align:"
           "right}.bad{color:#b00}"
           ".ok{color:#070}.muted{color:#777}svg{max-width:100%;height:auto}"
           ".charts{display:flex;flex-wrap:wrap;gap:12px}"
           ".charts figure{margin:0;flex:1 1 260px}"
           "figcaption{font-weight:600}"
           "@media(max-width:600px){body{font-size:14px;padding:8px}"
           "th,td{padding:3px 4px}td.n{white-space:normal}"
           "#recent thead{display:none}"
           "#roi thead{display:none}#roi tr{display:block;padding:4px 0;"
           "border-bottom:1px solid #ddd}#roi td{display:block;border:0;"
           "padding:0;text-align:left}#roi td[data-label]::before{content:"
           "attr(data-label) \": \";color:#777}"
           "#recent tr{display:block;padding:4px 0;"
           "border-bottom:1px solid #ddd}#recent td{display:inline;"
           "border:0;padding:0 8px 0 0}}</style></head><body>\n"
           "<h1>Traffic Dashboard — состояние</h1>\n");
}

/* The rules' targetologists, in order, with the fallback last. */
static size_t
rows_of(const struct tr_rules *rules, struct row *rows, size_t max)
{
    size_t i, n = 0;

    for (i = 0; i < rules->n && n + 1 < max; i++)
        rows[n++].name = rules->v[i].name;
    rows[n++].name = rules->fallback.name;
    return n;
}

/* The sales of the periods into rows (a name not in the rules appended). */
static int
load_sales(struct tr_store *store, const char *tz, struct row *rows, size_t *n,
           size_t max, struct tr_rows **res)
{
    const char *p[1] = {tz};
    char msg[256];
    size_t i;
    int r, k;

    if ((*res = tr_store_query(store, tr_sql_status_sales, 1, p, msg,
                               sizeof(msg))) == NULL)
        return -1;
    for (r = 0; r < tr_rows_count(*res); r++) {
        for (i = 0; i < *n && strcmp(rows[i].name,
                                     tr_rows_text(*res, r, "targetologist"));
             i++)
            ;
        if (i == *n && *n < max)
            rows[(*n)++].name = tr_rows_text(*res, r, "targetologist");
        if (i == max)
            continue;
        for (k = 0; k < 3; k++) {
            rows[i].n[k] = tr_rows_long(*res, r, counts[k]);
            rows[i].sum_text[k] = tr_rows_text(*res, r, sums[k]);
            rows[i].sum[k] = strtod(rows[i].sum_text[k], NULL);
        }
    }
    return 0;
}

/* A bar chart of the amounts of one period, in inline SVG. */
static void
chart(struct tr_buf *b, const struct row *rows, size_t n, int k,
      const char *currency)
{
    double top = 0;
    size_t i;
    long w;

    for (i = 0; i < n; i++)
        if (rows[i].sum[k] > top)
            top = rows[i].sum[k];
    tr_buf_addf(b,
                "<figure><figcaption>%s, сумма</figcaption><svg role=\"img\" "
                "viewBox=\"0 0 %d %zu\" width=\"%d\" height=\"%zu\">",
                period_names[k], CHART_W, n * BAR_H, CHART_W, n * BAR_H);
    for (i = 0; i < n; i++) {
        w = top > 0
                ? (long)(rows[i].sum[k] / top * (CHART_W - LABEL_W - VALUE_W))
                : 0;
        tr_buf_addf(b,
                    "<rect x=\"%d\" y=\"%zu\" width=\"%ld\" height=\"%d\" "
                    "fill=\"#4a7fc1\"/><text x=\"0\" y=\"%zu\" "
                    "font-size=\"12\">",
                    LABEL_W, i * BAR_H + 3, w, BAR_H - 6, i * BAR_H + 15);
        esc(b, rows[i].name);
        tr_buf_addf(b, "</text><text x=\"%ld\" y=\"%zu\" font-size=\"11\">",
                    LABEL_W + 2 + w, i * BAR_H + 15);
        amount(b, rows[i].sum_text[k] ? rows[i].sum_text[k] : "0", currency);
        tr_buf_addf(b, " (%ld)</text>", rows[i].n[k]);
    }
    tr_buf_adds(b, "</svg></figure>");
}

static void
sales_section(struct tr_buf *b, const struct row *rows, size_t n,
              const char *currency)
{
    size_t i;
    int k;

    tr_buf_adds(b, "<h2>Продажи по таргетологам</h2>\n<div class=\"wrap\">"
                   "<table id=\"sales\"><thead><tr><th>Таргетолог</th>"
                   "<th class=\"n\">Сегодня</th><th class=\"n\">Неделя</th>"
                   "<th class=\"n\">Месяц</th></tr>"
                   "</thead><tbody>");
    for (i = 0; i < n; i++) {
        tr_buf_adds(b, "<tr data-targetologist=\"");
        esc(b, rows[i].name);
        tr_buf_adds(b, "\"><td>");
        esc(b, rows[i].name);
        tr_buf_adds(b, "</td>");
        for (k = 0; k < 3; k++) {
            tr_buf_addf(b,
                        "<td class=\"n\" data-period=\"%s\" data-count="
                        "\"%ld\" data-amount=\"%s\">%ld · ",
                        periods[k], rows[i].n[k],
                        rows[i].sum_text[k] ? rows[i].sum_text[k] : "0",
                        rows[i].n[k]);
            amount(b, rows[i].sum_text[k] ? rows[i].sum_text[k] : "0",
                   currency);
            tr_buf_adds(b, "</td>");
        }
        tr_buf_adds(b, "</tr>");
    }
    tr_buf_adds(b, "</tbody></table></div>\n<div class=\"charts\">");
    for (k = 0; k < 3; k++)
        chart(b, rows, n, k, currency);
    tr_buf_adds(b, "</div>\n");
}

/* The row of who among roi's (NULL: none). */
static const struct tr_roi_row *
roi_row(const struct tr_roi *roi, const char *who)
{
    size_t i;

    for (i = 0; i < roi->n; i++)
        if (strcmp(roi->v[i].who, who) == 0)
            return &roi->v[i];
    return NULL;
}

/* One period's cell of a targetologist (o NULL: nothing that period). */
static void
roi_cell(struct tr_buf *b, const struct tr_config *cfg, int k,
         const struct tr_roi_row *o)
{
    const char *roi = o ? o->roi : "", *roas = o ? o->roas : "";

    tr_buf_addf(
        b,
        "<td class=\"r%s\" data-period=\"%s\" data-label=\"%s\" "
        "data-roi=\"%s\" "
        "data-roas=\"%s\" data-spend=\"%s\" data-revenue=\"%s\">",
        roi[0] && strtod(roi, NULL) < (double)cfg->roi_target_pct ? " bad" : "",
        periods[k], period_names[k], roi, roas, o ? o->spend : "0",
        o ? o->revenue : "0");
    if (roi[0])
        tr_buf_addf(b, "ROI %.0f%% · ROAS %s<br>", strtod(roi, NULL), roas);
    tr_buf_adds(b, "<span class=\"muted\">");
    if (o == NULL || strcmp(o->spend, "0") == 0) {
        tr_buf_adds(b, "расходов нет");
    } else {
        tr_buf_adds(b, "расход ");
        amount(b, o->spend, "KZT");
    }
    tr_buf_adds(b, "</span></td>");
}

/* The month's ROI per targetologist as bars (a loss: no bar). */
static void
roi_chart(struct tr_buf *b, const struct tr_roi *month)
{
    double top = 0, v;
    size_t i, n = month->n;
    long w;

    for (i = 0; i < n; i++)
        if (month->v[i].roi[0] && (v = strtod(month->v[i].roi, NULL)) > top)
            top = v;
    tr_buf_addf(b,
                "<div class=\"charts\"><figure id=\"roi-chart\"><figcaption>"
                "ROI за месяц, %%</figcaption><svg role=\"img\" viewBox=\"0 0 "
                "%d %zu\" width=\"%d\" height=\"%zu\">",
                CHART_W, n * BAR_H, CHART_W, n * BAR_H);
    for (i = 0; i < n; i++) {
        v = month->v[i].roi[0] ? strtod(month->v[i].roi, NULL) : 0;
        w = top > 0 && v > 0 ? (long)(v / top * (CHART_W - LABEL_W - VALUE_W))
                             : 0;
        tr_buf_addf(b,
                    "<rect x=\"%d\" y=\"%zu\" width=\"%ld\" height=\"%d\" "
                    "fill=\"#3a9a5b\"/><text x=\"0\" y=\"%zu\" "
                    "font-size=\"12\">",
                    LABEL_W, i * BAR_H + 3, w, BAR_H - 6, i * BAR_H + 15);
        esc(b, month->v[i].who[0] ? month->v[i].who : "Всего");
        tr_buf_addf(b, "</text><text x=\"%ld\" y=\"%zu\" font-size=\"11\">",
                    LABEL_W + 2 + w, i * BAR_H + 15);
        if (month->v[i].roi[0])
            tr_buf_addf(b, "%.0f%%", v);
        else
            tr_buf_adds(b, "—");
        tr_buf_adds(b, "</text>");
    }
    tr_buf_adds(b, "</svg></figure></div>\n");
}

/* With FACEBOOK_ADS_TOKEN: spend, ROI and ROAS today, this week and this
 * month per targetologist, the month's ROI as a chart, the rates used.
 * 0, or -1 when the database failed. */
static int
roi_section(struct tr_buf *b, struct tr_store *store,
            const struct tr_config *cfg, const struct tr_rules *rules)
{
    struct tr_roi_days d;
    struct tr_roi roi[3];
    const char *from[3];
    char msg[256];
    size_t i;
    int k, failed = 0;

    if (cfg->fb_token == NULL)
        return 0;
    if (tr_roi_days(store, cfg, &d, msg, sizeof(msg)) != TR_OK)
        return -1;
    from[0] = d.today;
    from[1] = d.week;
    from[2] = d.month;
    memset(roi, 0, sizeof(roi));
    for (k = 0; k < 3 && !failed; k++)
        failed = tr_roi_compute(store, cfg, rules, from[k], d.today, &roi[k],
                                msg, sizeof(msg)) != TR_OK;
    if (!failed) {
        tr_buf_addf(b,
                    "<h2>Реклама и ROI</h2>\n<div class=\"wrap\"><table "
                    "id=\"roi\"><thead><tr><th>Таргетолог (цель %ld%%)</th>"
                    "<th class=\"r\">Сегодня</th><th class=\"r\">Неделя</th>"
                    "<th class=\"r\">Месяц</th></tr></thead><tbody>",
                    cfg->roi_target_pct);
        for (i = 0; i < roi[2].n; i++) {
            const char *who = roi[2].v[i].who;

            tr_buf_adds(b, "<tr data-targetologist=\"");
            esc(b, who[0] ? who : "TOTAL");
            tr_buf_adds(b, "\"><td>");
            esc(b, who[0] ? who : "Всего");
            tr_buf_adds(b, "</td>");
            for (k = 0; k < 3; k++)
                roi_cell(b, cfg, k, roi_row(&roi[k], who));
            tr_buf_adds(b, "</tr>");
        }
        tr_buf_adds(b, "</tbody></table></div>\n");
        roi_chart(b, &roi[2]);
        if (roi[2].rates_ru.len > 0) {
            tr_buf_adds(b, "<p class=\"muted\" id=\"rates\">Курс: ");
            esc(b, roi[2].rates_ru.data);
            tr_buf_adds(b, "</p>\n");
        }
    }
    for (k = 0; k < 3; k++)
        tr_roi_release(&roi[k]);
    return failed ? -1 : 0;
}

/* The Russian name of a message's state. */
static const char *
state_name(const char *status, const char *sale_state)
{
    static const struct {
        const char *status, *name;
    } names[] = {
        {"sent", "отправлено"},
        {"pending", "в очереди"},
        {"failed", "не доставлено"},
        {"disabled", "не отправляется"},
        {"unconfirmed", "не подтверждена AmoCRM"},
    };
    size_t i;

    if (strcmp(sale_state, "reversed") == 0)
        return "продажа отменена";
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(status, names[i].status) == 0)
            return names[i].name;
    return status;
}

static int
recent_section(struct tr_buf *b, struct tr_store *store, const char *tz)
{
    const char *p[1] = {tz};
    char msg[256];
    struct tr_rows *res;
    int r;

    if ((res = tr_store_query(store, tr_sql_status_recent, 1, p, msg,
                              sizeof(msg))) == NULL)
        return -1;
    tr_buf_adds(
        b, "<h2>Последние продажи</h2>\n<div class=\"wrap\"><table "
           "id=\"recent\"><thead><tr><th>Время</th><th>Сделка</th>"
           "<th>Таргетолог</th><th class=\"n\">Сумма</th><th>Уведомление</th>"
           "</tr></thead><tbody>");
    for (r = 0; r < tr_rows_count(res); r++) {
        tr_buf_addf(b, "<tr data-lead=\"%s\"><td>",
                    tr_rows_text(res, r, "lead_id"));
        esc(b, tr_rows_text(res, r, "at"));
        tr_buf_adds(b, "</td><td>");
        esc(b, tr_rows_text(res, r, "lead_name")[0]
                   ? tr_rows_text(res, r, "lead_name")
                   : tr_rows_text(res, r, "lead_id"));
        tr_buf_adds(b, "</td><td>");
        esc(b, tr_rows_text(res, r, "emoji"));
        tr_buf_adds(b, " ");
        esc(b, tr_rows_text(res, r, "targetologist"));
        tr_buf_adds(b, "</td><td class=\"n\">");
        amount(b, tr_rows_text(res, r, "amount"),
               tr_rows_text(res, r, "currency"));
        tr_buf_adds(b, "</td><td>");
        esc(b, state_name(tr_rows_text(res, r, "notification_status"),
                          tr_rows_text(res, r, "sale_state")));
        tr_buf_adds(b, "</td></tr>");
    }
    if (tr_rows_count(res) == 0)
        tr_buf_adds(b, "<tr><td colspan=\"5\" class=\"muted\">Продаж пока "
                       "нет</td></tr>");
    tr_buf_adds(b, "</tbody></table></div>\n");
    tr_rows_free(res);
    return 0;
}

/* The failed messages' reasons, as Telegram gave them. */
static void
failed_reasons(struct tr_buf *b, struct tr_store *store)
{
    char msg[256];
    struct tr_rows *res;
    int r;

    if ((res = tr_store_query(store, tr_sql_status_failed, 0, NULL, msg,
                              sizeof(msg))) == NULL)
        return;
    for (r = 0; r < tr_rows_count(res); r++) {
        tr_buf_addf(b, "<li class=\"bad\">%s × ", tr_rows_text(res, r, "n"));
        esc(b, tr_rows_text(res, r, "reason"));
        tr_buf_adds(b, " <span class=\"muted\">(чат ");
        esc(b, tr_rows_text(res, r, "chats"));
        tr_buf_adds(b, ")</span></li>");
    }
    tr_rows_free(res);
}

static const char *
hook_name(const char *hook)
{
    if (strcmp(hook, "ok") == 0)
        return "работает";
    if (strcmp(hook, "disabled") == 0)
        return "отключён AmoCRM — включите его в настройках AmoCRM";
    if (strcmp(hook, "missing") == 0)
        return "не найден — добавьте его в настройках AmoCRM";
    return "неизвестно (сверка с AmoCRM ещё не проходила)";
}

static int
health_section(struct tr_buf *b, struct tr_store *store,
               const struct tr_config *cfg)
{
    const char *p[1] = {cfg->tz};
    long total, ok, depth;
    char msg[256];
    struct tr_rows *res;

    if ((res = tr_store_query(store, tr_sql_status_health, 1, p, msg,
                              sizeof(msg))) == NULL)
        return -1;
    total = tr_rows_long(res, 0, "day_total");
    ok = tr_rows_long(res, 0, "day_ok");
    tr_buf_adds(b, "<h2>Состояние</h2>\n<ul id=\"health\">"
                   "<li>Последний вебхук: <span id=\"last-webhook\">");
    esc(b, tr_rows_text(res, 0, "last_webhook")[0]
               ? tr_rows_text(res, 0, "last_webhook")
               : "ещё не было");
    tr_buf_addf(b,
                "</span></li><li>Доставки без ошибок за 24 ч: <span "
                "id=\"success-rate\">%.1f%%</span> (%ld из %ld)</li>",
                total ? 100.0 * (double)ok / (double)total : 100.0, ok, total);
    tr_buf_addf(b,
                "<li%s>Отклонено за 24 ч (неверный токен или чужой аккаунт "
                "AmoCRM, не в доле выше): <span id=\"refused\">%s</span>"
                "</li>",
                strcmp(tr_rows_text(res, 0, "refused"), "0") ? " class=\"bad\""
                                                             : "",
                tr_rows_text(res, 0, "refused"));
    tr_buf_addf(b,
                "<li>Сообщения в очереди: <span id=\"pending\">%s</span>"
                "</li><li%s>Не доставлены: <span id=\"failed\">%s</span>"
                "<ul>",
                tr_rows_text(res, 0, "pending"),
                strcmp(tr_rows_text(res, 0, "failed"), "0") ? " class=\"bad\""
                                                            : "",
                tr_rows_text(res, 0, "failed"));
    failed_reasons(b, store);
    depth = tr_spool_depth(cfg->spool_dir);
    tr_buf_addf(b,
                "</ul></li><li%s>Запросы в спуле (база была недоступна): "
                "<span id=\"spool\">%ld</span></li>",
                depth != 0 ? " class=\"bad\"" : "", depth);
    tr_buf_adds(b, "<li>Вебхук AmoCRM: <span id=\"hook\">");
    esc(b, hook_name(tr_rows_text(res, 0, "hook")));
    tr_buf_adds(b, "</span>");
    if (tr_rows_text(res, 0, "reconciled")[0] != '\0') {
        tr_buf_adds(b, " <span class=\"muted\">(сверка ");
        esc(b, tr_rows_text(res, 0, "reconciled"));
        tr_buf_adds(b, ")</span>");
    }
    tr_buf_adds(b, "</li></ul>\n");
    tr_rows_free(res);
    return 0;
}

/* The database away: 503, and what can still be said, from the spool. */
static void
unavailable_page(const struct tr_config *cfg, struct tr_store *store,
                 struct tr_response *resp)
{
    struct tr_buf *b = &resp->body;

    tr_buf_reset(b);
    page_head(b);
    tr_buf_addf(b,
                "<p class=\"bad\" id=\"database\">База данных недоступна. "
                "Вебхуки ждут в спуле: <span id=\"spool\">%ld</span>; они "
                "будут записаны, когда база вернётся.</p>\n",
                tr_spool_depth(cfg->spool_dir));
    tr_alerts_html(cfg, store, b);
    tr_buf_adds(b, "</body></html>\n");
    resp->status = 503;
    resp->content_type = "text/html; charset=utf-8";
}

void
tr_status_answer(const struct tr_config *cfg, const struct tr_rules *rules,
                 struct tr_store *store, const struct tr_request *req,
                 struct tr_response *resp)
{
    struct row rows[TR_RULES_MAX + 16];
    const char *m = req->method ? req->method : "";
    struct tr_buf *b = &resp->body;
    struct tr_rows *sales = NULL;
    size_t n;

    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
        resp->allow = "GET, HEAD";
        tr_response_error(resp, 405, "method not allowed");
        return;
    }
    if (!tr_admin_allowed(cfg, req, 1, resp))
        return;
    memset(rows, 0, sizeof(rows));
    n = rows_of(rules, rows, sizeof(rows) / sizeof(rows[0]));
    page_head(b);
    if (load_sales(store, cfg->tz, rows, &n, sizeof(rows) / sizeof(rows[0]),
                   &sales) != 0)
        goto unavailable;
    sales_section(b, rows, n, cfg->currency);
    if (roi_section(b, store, cfg, rules) != 0 ||
        recent_section(b, store, cfg->tz) != 0 ||
        health_section(b, store, cfg) != 0)
        goto unavailable;
    tr_alerts_html(cfg, store, b);
    tr_buf_adds(b, "</body></html>\n");
    tr_rows_free(sales);
    resp->status = 200;
    resp->content_type = "text/html; charset=utf-8";
    return;
unavailable:
    tr_rows_free(sales);
    unavailable_page(cfg, store, resp);
}
