/*
 * alerts.c: finding the problems, flipping their rows, posting the news.
 */
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "amorate.h"
#include "buf.h"
#include "config.h"
#include "reconcile.h"
#include "render.h"
#include "spool.h"
#include "sql.h"
#include "store.h"

static const char *const names[TR_ALERT_N] = {
    "amocrm_hook",     "amocrm_token", "telegram_token", "telegram_chat",
    "failed_messages", "spool",        "silence",
};

const char *
tr_alert_name(enum tr_alert a)
{
    return a < TR_ALERT_N ? names[a] : "?";
}

enum tr_err
tr_alerts_init(struct tr_alerts *a, const struct tr_config *cfg,
               struct tr_store *store, const struct tr_log *log)
{
    char base[512];
    enum tr_err err;

    memset(a, 0, sizeof(*a));
    a->cfg = cfg;
    a->store = store;
    if (log != NULL)
        a->log = *log;
    if (cfg->telegram_bot_token != NULL) {
        if ((err = tr_telegram_init(&a->tg, cfg->telegram_api_base,
                                    cfg->telegram_bot_token,
                                    cfg->tg_timeout_ms)) != TR_OK)
            return err;
        a->tg_enabled = 1;
    }
    if (tr_config_amocrm_base(cfg, base, sizeof(base))) {
        if ((err = tr_amocrm_init(&a->amo, base, cfg->amocrm_access_token,
                                  cfg->amo_timeout_ms, NULL)) != TR_OK) {
            tr_alerts_release(a);
            return err;
        }
        a->amo_enabled = 1;
    }
    return TR_OK;
}

void
tr_alerts_release(struct tr_alerts *a)
{
    if (a->tg_enabled)
        tr_telegram_release(&a->tg);
    if (a->amo_enabled)
        tr_amocrm_release(&a->amo);
    memset(a, 0, sizeof(*a));
}

static void __attribute__((format(printf, 3, 4)))
set(struct tr_alert_found *f, const char *ru, const char *fmt, ...)
{
    va_list ap;

    f->known = f->active = 1;
    snprintf(f->ru, sizeof(f->ru), "%s", ru);
    va_start(ap, fmt);
    vsnprintf(f->en, sizeof(f->en), fmt, ap);
    va_end(ap);
}

/* One request to AmoCRM says both: the token works, the hook posts here. */
static void
detect_amocrm(struct tr_alerts *a, struct tr_alert_found *hook,
              struct tr_alert_found *token)
{
    struct tr_reconcile_stats st;
    struct tr_amo_hooks hooks;
    enum tr_amo_status s;
    char why[512], ru[512];

    hook->known = token->known = 1;
    if (!a->amo_enabled)
        return;
    /* a slot of the pool's 7 a second, like every request */
    if (tr_amorate_take(a->store, a->cfg->amo_rate, 5.0, why, sizeof(why)) <=
        0) {
        hook->known = token->known = 0;
        return;
    }
    s = tr_amocrm_list_hooks(&a->amo, &hooks, why, sizeof(why));
    if (s == TR_AMO_DENIED) {
        set(token,
            "AmoCRM не принимает AMOCRM_ACCESS_TOKEN: продажи не дополняются "
            "из AmoCRM и не сверяются. Выпустите новый долгосрочный токен в "
            "настройках интеграции.",
            "AmoCRM refuses AMOCRM_ACCESS_TOKEN (%s)", why);
        hook->known = 0;
    } else if (s != TR_AMO_OK) {
        hook->known = token->known = 0; /* AmoCRM is away: no news */
    } else {
        memset(&st, 0, sizeof(st));
        tr_reconcile_judge_hooks(a->cfg, &hooks, &st);
        snprintf(ru, sizeof(ru), "%s",
                 strcmp(st.hook, "disabled") == 0
                     ? "AmoCRM отключил вебхук (слишком много неудачных "
                       "доставок): новые продажи не приходят. Включите его в "
                       "AmoCRM: Настройки → API → Вебхуки; сверка восстановит "
                       "пропущенные продажи."
                     : "В AmoCRM нет вебхука на этот сервис: продажи не "
                       "приходят. Добавьте его: Настройки → API → Вебхуки, "
                       "события «Изменение сделки» и «Изменение статуса».");
        if (st.hook_problem[0] != '\0')
            set(hook, ru, "%s", st.hook_problem);
    }
    tr_amo_hooks_release(&hooks);
}

/* The bot's token (getMe), then each chat it writes to (getChat). */
static void
detect_telegram(struct tr_alerts *a, struct tr_alert_found *token,
                struct tr_alert_found *chat)
{
    const struct tr_config *cfg = a->cfg;
    struct tr_tg_result r;
    char bad[384] = "", ru[512];
    size_t i, k;

    token->known = chat->known = 1;
    if (!a->tg_enabled)
        return;
    if (tr_telegram_check(&a->tg, NULL, &r) != TR_OK ||
        r.outcome == TR_TG_RETRY) {
        token->known = chat->known = 0; /* Telegram is away: no news */
        return;
    }
    if (r.outcome != TR_TG_SENT) {
        set(token,
            "Telegram не принимает токен бота (TELEGRAM_BOT_TOKEN): "
            "сообщения о продажах не уходят. Возьмите токен у @BotFather.",
            "Telegram refuses TELEGRAM_BOT_TOKEN (%s)", r.description);
        chat->known = 0;
        return;
    }
    for (k = 0; k < 2; k++) {
        const struct tr_chat *c = k ? cfg->alert_chats : cfg->chats;
        size_t n = k ? cfg->nalert_chats : cfg->nchats;

        for (i = 0; i < n; i++)
            if (tr_telegram_check(&a->tg, c[i].id, &r) == TR_OK &&
                r.outcome != TR_TG_SENT && r.outcome != TR_TG_RETRY &&
                strlen(bad) + strlen(c[i].id) + 4 < sizeof(bad))
                snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), "%s%s",
                         bad[0] ? ", " : "", c[i].id);
    }
    if (bad[0] == '\0')
        return;
    snprintf(ru, sizeof(ru),
             "Бот не может писать в чат %s: добавьте его в чат или "
             "исправьте TELEGRAM_CHAT_IDS.",
             bad);
    set(chat, ru,
        "Telegram refuses the chat %s: add the bot to it, or fix "
        "TELEGRAM_CHAT_IDS",
        bad);
}

/* What the database and the spool say: failed messages, a stuck spool,
 * a silence. */
static enum tr_err
detect_local(struct tr_alerts *a, struct tr_alert_found *found, char *msg,
             size_t msgsz)
{
    const struct tr_config *cfg = a->cfg;
    long failed, age;
    double silent;
    char ru[512];
    PGresult *res;

    age = tr_spool_oldest_age(cfg->spool_dir);
    found[TR_ALERT_SPOOL].known = age >= 0;
    if (age > cfg->alert_spool_s)
        set(&found[TR_ALERT_SPOOL],
            "База данных недоступна: вебхуки ждут в спуле слишком долго "
            "(продажи не потеряны, но дашборд их ещё не видит).",
            "requests have waited in the spool for %ld s: the database "
            "does not take them (traffic-ctl spool status)",
            age);
    if ((res = tr_store_query(a->store, tr_sql_alert_facts, 0, NULL, msg,
                              msgsz)) == NULL)
        return TR_EDB;
    failed = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    silent = strtod(PQgetvalue(res, 0, 2), NULL);
    found[TR_ALERT_FAILED_MESSAGES].known = found[TR_ALERT_SILENCE].known = 1;
    if (failed > 0) {
        snprintf(ru, sizeof(ru),
                 "Сообщений о продажах не доставлено за сутки: %ld (%.200s). "
                 "После исправления: traffic-ctl deliver --now или resend.",
                 failed, PQgetvalue(res, 0, 1));
        set(&found[TR_ALERT_FAILED_MESSAGES], ru,
            "%ld Telegram message%s failed for good in the last day (%.200s)",
            failed, failed == 1 ? "" : "s", PQgetvalue(res, 0, 1));
    }
    if (cfg->alert_silence_h > 0 && silent >= (double)cfg->alert_silence_h) {
        snprintf(ru, sizeof(ru),
                 "От AmoCRM нет ни одного вебхука уже %.0f ч: проверьте "
                 "вебхук в AmoCRM и доступность сервиса.",
                 silent);
        set(&found[TR_ALERT_SILENCE], ru,
            "no webhook for %.0f hours (ALERT_SILENCE_H %ld)", silent,
            cfg->alert_silence_h);
    }
    PQclear(res);
    return TR_OK;
}

enum tr_err
tr_alerts_detect(struct tr_alerts *a, int apis,
                 struct tr_alert_found found[TR_ALERT_N], char *msg,
                 size_t msgsz)
{
    memset(found, 0, sizeof(found[0]) * TR_ALERT_N);
    if (apis) {
        detect_amocrm(a, &found[TR_ALERT_AMOCRM_HOOK],
                      &found[TR_ALERT_AMOCRM_TOKEN]);
        detect_telegram(a, &found[TR_ALERT_TELEGRAM_TOKEN],
                        &found[TR_ALERT_TELEGRAM_CHAT]);
    }
    return detect_local(a, found, msg, msgsz);
}

/* Posts text to the alert chats, or says it in the log without them. */
static void
post(struct tr_alerts *a, const char *text)
{
    const struct tr_config *cfg = a->cfg;
    struct tr_tg_message m;
    struct tr_tg_result r;
    size_t i;

    for (i = 0; a->tg_enabled && i < cfg->nalert_chats; i++) {
        memset(&m, 0, sizeof(m));
        m.chat = cfg->alert_chats[i].id;
        m.thread = cfg->alert_chats[i].thread_id;
        m.text = text;
        if (tr_telegram_send(&a->tg, &m, &r) != TR_OK ||
            r.outcome != TR_TG_SENT)
            tr_log_say(&a->log, "alert: chat %s did not take it: %s", m.chat,
                       r.description);
    }
}

enum tr_err
tr_alerts_watch(struct tr_alerts *a, char *msg, size_t msgsz)
{
    struct tr_alert_found found[TR_ALERT_N];
    char text[768];
    const char *p[3];
    PGresult *res;
    enum tr_err err;
    int i;

    if ((err = tr_alerts_detect(a, 1, found, msg, msgsz)) != TR_OK)
        return err;
    for (i = 0; i < TR_ALERT_N; i++) {
        if (!found[i].known)
            continue;
        p[0] = names[i];
        p[1] = found[i].active ? "true" : "false";
        p[2] = found[i].ru;
        if ((res = tr_store_query(a->store, tr_sql_alert_set, 3, p, msg,
                                  msgsz)) == NULL)
            return TR_EDB;
        if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
            if (found[i].active) {
                tr_log_say(&a->log, "alert: %s started: %s", names[i],
                           found[i].en);
                snprintf(text, sizeof(text),
                         "\xE2\x9A\xA0\xEF\xB8\x8F "
                         "traffic-webhook: %s",
                         found[i].ru); /* ⚠️ */
            } else {
                tr_log_say(&a->log, "alert: %s cleared", names[i]);
                snprintf(text, sizeof(text),
                         "\xE2\x9C\x85 traffic-webhook, "
                         "решено: %s",
                         PQgetvalue(res, 0, 1)); /* ✅ */
            }
            post(a, text);
        }
        PQclear(res);
    }
    return TR_OK;
}

void
tr_alerts_html(struct tr_store *store, const char *tz, struct tr_buf *b)
{
    const char *p[1] = {tz};
    char msg[256];
    PGresult *res;
    int r;

    if ((res = tr_store_query(store, tr_sql_alert_list, 1, p, msg,
                              sizeof(msg))) == NULL)
        return;
    tr_buf_adds(b, "<h2>Оповещения</h2>\n<ul id=\"alerts\">");
    for (r = 0; r < PQntuples(res); r++) {
        tr_buf_addf(b, "<li class=\"bad\" data-alert=\"%s\">",
                    PQgetvalue(res, r, 0));
        tr_render_escape(b, PQgetvalue(res, r, 1), TR_RENDER_FIELD_MAX);
        tr_buf_adds(b, " <span class=\"muted\">(с ");
        tr_render_escape(b, PQgetvalue(res, r, 2), TR_RENDER_FIELD_MAX);
        tr_buf_adds(b, ")</span></li>");
    }
    if (PQntuples(res) == 0)
        tr_buf_adds(b, "<li class=\"ok\">Проблем нет</li>");
    tr_buf_adds(b, "</ul>\n");
    PQclear(res);
}
