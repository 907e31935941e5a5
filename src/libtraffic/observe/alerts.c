/*
 * alerts.c: finding the problems, flipping their rows, posting the news.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/amobase.h"
#include "observe/alerts.h"
#include "outgoing/amorate.h"
#include "base/buf.h"
#include "base/config.h"
#include "outgoing/hooks.h"
#include "outgoing/render.h"
#include "intake/sale.h"
#include "intake/schema.h"
#include "intake/spool.h"
#include "sql.h"
#include "db/rows.h"
#include "db/store.h"

static const char *const names[TR_ALERT_N] = {
    "amocrm_hook",     "amocrm_token", "telegram_token", "telegram_chat",
    "failed_messages", "spool",        "silence",        "reconcile",
    "database",        "ads",
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
    char base[512], host[64];
    enum tr_err err;
    int i;

    memset(a, 0, sizeof(*a));
    a->cfg = cfg;
    a->store = store;
    for (i = 0; i < TR_ALERT_N; i++)
        a->passed[i] = -1;
    if (log != NULL)
        a->log = *log;
    /* the messages say which host, the spool's alert being its own */
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "?");
    host[sizeof(host) - 1] = '\0';
    snprintf(a->host, sizeof(a->host), "traffic-webhook@%s", host);
    if (cfg->telegram_bot_token != NULL) {
        if ((err = tr_telegram_init(&a->tg, cfg->telegram_api_base,
                                    cfg->telegram_bot_token,
                                    cfg->tg_timeout_ms)) != TR_OK)
            return err;
        a->tg_enabled = 1;
    }
    if (tr_amobase_configured(cfg, base, sizeof(base))) {
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
    struct tr_hooks_verdict v;
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
        tr_hooks_judge(a->cfg, &hooks, &v);
        snprintf(ru, sizeof(ru), "%s",
                 strcmp(v.state, "disabled") == 0
                     ? "AmoCRM отключил вебхук (слишком много неудачных "
                       "доставок): новые продажи не приходят. Включите его в "
                       "AmoCRM: Настройки → API → Вебхуки; сверка восстановит "
                       "пропущенные продажи."
                     : "В AmoCRM нет вебхука на этот сервис: продажи не "
                       "приходят. Добавьте его: Настройки → API → Вебхуки, "
                       "события «Изменение сделки» и «Изменение статуса».");
        if (v.problem[0] != '\0')
            set(hook, ru, "%s", v.problem);
    }
    tr_amo_hooks_release(&hooks);
}

/* Appends ", id" to the list in bad (of size sz), when it fits. */
static void
add_chat(char *bad, size_t sz, const char *id)
{
    size_t used = strlen(bad), n = strlen(id);

    if (used + n + 3 >= sz)
        return;
    if (used > 0) {
        memcpy(bad + used, ", ", 2);
        used += 2;
    }
    memcpy(bad + used, id, n + 1);
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
                r.outcome != TR_TG_SENT && r.outcome != TR_TG_RETRY)
                add_chat(bad, sizeof(bad), c[i].id);
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

/* Requests waiting in this host's spool for too long. */
static void
detect_spool(struct tr_alerts *a, struct tr_alert_found *f)
{
    long age = tr_spool_oldest_age(a->cfg->spool_dir);
    char why[512], ru[768];

    f->known = age >= 0;
    if (age <= a->cfg->alert_spool_s)
        return;
    tr_spool_last_failure(a->cfg->spool_dir, why, sizeof(why));
    if (why[0] == '\0' || strstr(why, "connect") != NULL ||
        strstr(why, "did not answer") != NULL) {
        set(f,
            "База данных недоступна: вебхуки ждут в спуле слишком долго "
            "(продажи не потеряны, но дашборд их ещё не видит).",
            "requests have waited in the spool for %ld s: the database "
            "does not take them (traffic-ctl spool status)%s%s",
            age, why[0] ? ": " : "", why);
        return;
    }
    snprintf(ru, sizeof(ru),
             "База данных отвечает, но не принимает продажи: %.300s. "
             "Вебхуки ждут в спуле (продажи не потеряны, но дашборд их ещё "
             "не видит).",
             why);
    set(f, ru,
        "requests have waited in the spool for %ld s: their replay fails: "
        "%.300s",
        age, why);
}

/* The database answers and refuses sales (schema.h). */
static void
detect_refusal(struct tr_alerts *a, struct tr_alert_found *f)
{
    char found[1024], msg[256], ru[1024];
    struct tr_sale sale;
    size_t n;

    tr_sale_init(&sale, a->cfg, a->store);
    if (tr_schema_probe(&sale, found, sizeof(found), msg, sizeof(msg)) < 0)
        return; /* away: the spool's alert is about that */
    f->known = 1;
    if (found[0] == '\0')
        return;
    n = strcspn(found, "\n");
    snprintf(ru, sizeof(ru),
             "База данных отвечает, но не принимает продажи: %.*s. Продажи "
             "ждут в спуле и сохранятся, когда это исправят (traffic-ctl "
             "check).",
             (int)n, found);
    set(f, ru, "the database refuses sales: %.*s", (int)n, found);
}

/* The last reconciliation: it failed, or its breaker held reversals. */
static void
detect_reconcile(struct tr_alert_found *f, const char *error, long held)
{
    char ru[768];

    f->known = 1;
    if (held > 0) {
        snprintf(ru, sizeof(ru),
                 "Сверка с AmoCRM отменила бы сразу %ld продаж — слишком "
                 "много, ничего не отменено. Проверьте сделки в AmoCRM и "
                 "права токена; если отмены верны: traffic-ctl reconcile "
                 "--force.",
                 held);
        set(f, ru,
            "reconcile held back %ld reversals (more than a tenth of the "
            "window's sales): check AmoCRM, then traffic-ctl reconcile "
            "--force",
            held);
    } else if (error[0] != '\0') {
        snprintf(ru, sizeof(ru),
                 "Сверка с AmoCRM не удалась: %.300s. Дашборд может "
                 "расходиться с AmoCRM, пока она не пройдёт.",
                 error);
        set(f, ru, "the last reconciliation failed: %.300s", error);
    }
}

/* The last ad spend sync (with FACEBOOK_ADS_TOKEN): its error, if any. */
static void
detect_ads(const struct tr_config *cfg, struct tr_alert_found *f,
           const char *error)
{
    char ru[768];

    if (cfg->fb_token == NULL)
        return;
    f->known = 1;
    if (error[0] == '\0')
        return;
    if (strstr(error, "code 190") != NULL) {
        snprintf(ru, sizeof(ru),
                 "Facebook не принимает FACEBOOK_ADS_TOKEN (истёк или "
                 "отозван): расходы на рекламу и ROI не обновляются. Выпустите "
                 "новый токен с правом ads_read.");
        set(f, ru,
            "Facebook refuses FACEBOOK_ADS_TOKEN (expired or revoked): "
            "spend and ROI are not updated; issue a new ads_read "
            "token");
        return;
    }
    snprintf(ru, sizeof(ru),
             "Расходы на рекламу не обновились: %.300s. ROI считается по "
             "прежним данным.",
             error);
    set(f, ru, "the last ad spend sync failed: %.300s", error);
}

/* What the database says: failed messages, a silence, reconciliation. */
static enum tr_err
detect_local(struct tr_alerts *a, struct tr_alert_found *found, char *msg,
             size_t msgsz)
{
    const struct tr_config *cfg = a->cfg;
    long failed;
    double silent;
    char ru[512];
    struct tr_rows *res;

    detect_spool(a, &found[TR_ALERT_SPOOL]);
    detect_refusal(a, &found[TR_ALERT_DATABASE]);
    if ((res = tr_store_query(a->store, tr_sql_alert_facts, 0, NULL, msg,
                              msgsz)) == NULL)
        return TR_EDB;
    failed = tr_rows_long(res, 0, "failed");
    silent = strtod(tr_rows_text(res, 0, "silent_h"), NULL);
    found[TR_ALERT_FAILED_MESSAGES].known = found[TR_ALERT_SILENCE].known = 1;
    if (failed > 0) {
        snprintf(ru, sizeof(ru),
                 "Сообщений о продажах не доставлено за сутки: %ld (%.200s). "
                 "После исправления: traffic-ctl deliver --now или resend.",
                 failed, tr_rows_text(res, 0, "reason"));
        set(&found[TR_ALERT_FAILED_MESSAGES], ru,
            "%ld Telegram message%s failed for good in the last day (%.200s)",
            failed, failed == 1 ? "" : "s", tr_rows_text(res, 0, "reason"));
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
    detect_reconcile(&found[TR_ALERT_RECONCILE],
                     tr_rows_text(res, 0, "reconcile_error"),
                     tr_rows_long(res, 0, "held"));
    detect_ads(cfg, &found[TR_ALERT_ADS], tr_rows_text(res, 0, "ads_error"));
    tr_rows_free(res);
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

/*
 * The spool's alert is this host's, and is about the database being away:
 * its state is a file in the spool (what it said, while it lasts), not a
 * row.  Returns 1 active, 0 not, with what it said in was.
 */
static int
spool_state(const struct tr_config *cfg, char *was, size_t wassz)
{
    char path[4096], why[128];
    struct tr_buf b;
    int active;

    snprintf(path, sizeof(path), "%s/" TR_ALERT_SPOOL_FILE, cfg->spool_dir);
    tr_buf_init(&b, 4096);
    /* a FIFO in its place is never waited on */
    active = tr_buf_read_file(&b, path, why, sizeof(why)) == TR_OK;
    if (active && wassz > 0)
        snprintf(was, wassz, "%.*s", (int)b.len, b.data ? b.data : "");
    tr_buf_release(&b);
    return active;
}

/* Records the spool alert's state; -1 when the spool cannot be written. */
static int
spool_record(const struct tr_config *cfg, const struct tr_alert_found *f)
{
    char path[4096], tmp[4096 + 32];
    FILE *out;

    snprintf(path, sizeof(path), "%s/" TR_ALERT_SPOOL_FILE, cfg->spool_dir);
    if (!f->active)
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
    if ((out = fopen(tmp, "we")) == NULL)
        return -1;
    if (fputs(f->ru, out) < 0 || fclose(out) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int
tr_alerts_spool_active(const struct tr_config *cfg)
{
    return spool_state(cfg, NULL, 0);
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
            tr_log_warn(&a->log, "alert: chat %s did not take it: %s", m.chat,
                        r.description);
    }
}

/* Says in the log and posts that alert i started, or cleared (was: what it
 * said). */
static void
announce(struct tr_alerts *a, int i, const struct tr_alert_found *f,
         const char *was)
{
    char text[1024];

    if (f->active) {
        tr_log_warn(&a->log, "alert: %s started: %s", names[i], f->en);
        snprintf(text, sizeof(text), "\xE2\x9A\xA0\xEF\xB8\x8F %s: %s", a->host,
                 f->ru); /* ⚠️ */
    } else {
        tr_log_say(&a->log, "alert: %s cleared", names[i]);
        snprintf(text, sizeof(text), "\xE2\x9C\x85 %s, решено: %s", a->host,
                 was); /* ✅ */
    }
    post(a, text);
}

/*
 * Damping: whether alert i's state f, seen now, is to be passed on.  A
 * state is passed once it has been seen without a break for ALERT_MIN_S
 * (at the first look after a start, at once: what a restart finds is not
 * news to wait for); before that f is made the state passed last, so a
 * problem that comes and goes within it changes nothing.
 */
static int
damp(struct tr_alerts *a, int i, struct tr_alert_found *f)
{
    struct timespec now;

    if (i == TR_ALERT_DATABASE)
        return 1; /* a refusing database does not flap: at once */
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (a->seen_since[i] == 0 || a->seen[i] != f->active) {
        a->seen[i] = f->active;
        a->seen_since[i] = (long)now.tv_sec;
    }
    if (a->passed[i] == -1 || a->passed[i] == f->active ||
        (long)now.tv_sec - a->seen_since[i] >= a->cfg->alert_min_s) {
        a->passed[i] = f->active;
        return 1;
    }
    f->active = a->passed[i];
    return 0;
}

/* The spool's alert, from this host's file: it needs no database. */
static void
watch_spool(struct tr_alerts *a)
{
    struct tr_alert_found f;
    char was[512];
    int active;

    memset(&f, 0, sizeof(f));
    detect_spool(a, &f);
    active = spool_state(a->cfg, was, sizeof(was));
    if (!f.known)
        return;
    if (a->passed[TR_ALERT_SPOOL] == -1)
        a->passed[TR_ALERT_SPOOL] = active; /* the file says what was */
    if (!damp(a, TR_ALERT_SPOOL, &f) || f.active == active)
        return;
    if (spool_record(a->cfg, &f) != 0) {
        tr_log_error(&a->log, "alert: spool: cannot record its state in %s",
                     a->cfg->spool_dir);
        return;
    }
    announce(a, TR_ALERT_SPOOL, &f, was);
}

enum tr_err
tr_alerts_watch(struct tr_alerts *a, char *msg, size_t msgsz)
{
    struct tr_alert_found found[TR_ALERT_N];
    const char *p[3];
    struct tr_rows *res;
    enum tr_err err;
    int i;

    watch_spool(a);
    if ((err = tr_alerts_detect(a, 1, found, msg, msgsz)) != TR_OK)
        return err;
    for (i = 0; i < TR_ALERT_N; i++) {
        if (!found[i].known || i == TR_ALERT_SPOOL || !damp(a, i, &found[i]))
            continue;
        p[0] = names[i];
        p[1] = found[i].active ? "true" : "false";
        p[2] = found[i].ru;
        if ((res = tr_store_query(a->store, tr_sql_alert_set, 3, p, msg,
                                  msgsz)) == NULL)
            return TR_EDB;
        if (tr_rows_count(res) == 1 &&
            strcmp(tr_rows_text(res, 0, "changed"), "t") == 0)
            announce(a, i, &found[i], tr_rows_text(res, 0, "was"));
        tr_rows_free(res);
    }
    return TR_OK;
}

void
tr_alerts_html(const struct tr_config *cfg, struct tr_store *store,
               struct tr_buf *b)
{
    const char *p[1] = {cfg->tz};
    char msg[256], was[512];
    struct tr_rows *res;
    int r, spool;

    tr_buf_adds(b, "<h2>Оповещения</h2>\n<ul id=\"alerts\">");
    if ((spool = spool_state(cfg, was, sizeof(was))) != 0) {
        tr_buf_adds(b, "<li class=\"bad\" data-alert=\"spool\">");
        tr_render_escape(b, was, TR_RENDER_FIELD_MAX);
        tr_buf_adds(b, "</li>");
    }
    /* the database away: the spool's alert, which needs none, alone */
    if ((res = tr_store_query(store, tr_sql_alert_list, 1, p, msg,
                              sizeof(msg))) == NULL) {
        tr_buf_adds(b, "</ul>\n");
        return;
    }
    for (r = 0; r < tr_rows_count(res); r++) {
        tr_buf_addf(b, "<li class=\"bad\" data-alert=\"%s\">",
                    tr_rows_text(res, r, "alert"));
        tr_render_escape(b, tr_rows_text(res, r, "detail"),
                         TR_RENDER_FIELD_MAX);
        tr_buf_adds(b, " <span class=\"muted\">(с ");
        tr_render_escape(b, tr_rows_text(res, r, "since"), TR_RENDER_FIELD_MAX);
        tr_buf_adds(b, ")</span></li>");
    }
    if (tr_rows_count(res) == 0 && !spool)
        tr_buf_adds(b, "<li class=\"ok\">Проблем нет</li>");
    tr_buf_adds(b, "</ul>\n");
    tr_rows_free(res);
}
