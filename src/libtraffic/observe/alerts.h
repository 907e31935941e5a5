/*
 * alerts.h: telling people when something breaks, and when it is mended.
 *
 * The deliver sidecar looks every ALERT_CHECK_S seconds for the problems
 * that lose sales or hide them: AmoCRM's webhook missing or disabled,
 * AmoCRM refusing the token, Telegram refusing the bot's token or a chat,
 * messages failing for good, requests waiting in the spool for more than
 * five minutes, no webhook at all for ALERT_SILENCE_H hours.  Each
 * problem's state is a row of traffic_alerts (sql/008): when it starts one
 * message goes to ALERT_CHAT_IDS, when it clears one more, never the same
 * twice in a row, across restarts and hosts.  The spool's alert is a
 * host's own and comes while the database is away: its state is a file in
 * the spool.  Without ALERT_CHAT_IDS the alerts go to the log (and the
 * metrics, and the status page).
 */
#ifndef TR_ALERTS_H
#define TR_ALERTS_H

#include <stddef.h>

#include "outgoing/amocrm.h"
#include "base/err.h"
#include "base/log.h"
#include "outgoing/telegram.h"

struct tr_buf;
struct tr_config;
struct tr_store;

enum tr_alert {
    TR_ALERT_AMOCRM_HOOK,
    TR_ALERT_AMOCRM_TOKEN,
    TR_ALERT_TELEGRAM_TOKEN,
    TR_ALERT_TELEGRAM_CHAT,
    TR_ALERT_FAILED_MESSAGES,
    TR_ALERT_SPOOL,
    TR_ALERT_SILENCE,
    TR_ALERT_RECONCILE,
    TR_ALERT_DATABASE, /* it answers and refuses sales: posted at once */
    TR_ALERT_ADS,      /* the last ad spend sync failed (a token expired) */
    TR_ALERT_N
};

/* One problem as found now. */
struct tr_alert_found {
    int known; /* 0: it could not be checked (kept as it was) */
    int active;
    char en[384]; /* for the log and traffic-ctl check */
    char ru[512]; /* for the team */
};

struct tr_alerts {
    const struct tr_config *cfg;
    struct tr_store *store;
    struct tr_telegram tg;
    struct tr_amocrm amo;
    int tg_enabled, amo_enabled;
    struct tr_log log;
    char host[96]; /* "traffic-webhook@HOST", in the messages */
    /* damping (ALERT_MIN_S): what each alert looks like now, since when
     * (monotonic seconds; 0: not seen yet), and what was passed on */
    int seen[TR_ALERT_N];
    long seen_since[TR_ALERT_N];
    int passed[TR_ALERT_N]; /* -1: nothing yet */
};

/* The spool alert's state file, in SPOOL_DIR (this host's alone). */
#define TR_ALERT_SPOOL_FILE ".alert-spool"

/* The alert's name in traffic_alerts and the metrics ("spool"). */
const char *tr_alert_name(enum tr_alert a);

/* Fills a (cfg and store kept, not owned).  TR_ENOMEM. */
enum tr_err tr_alerts_init(struct tr_alerts *a, const struct tr_config *cfg,
                           struct tr_store *store, const struct tr_log *log);

void tr_alerts_release(struct tr_alerts *a);

/*
 * Looks for every problem now into found: with apis the AmoCRM and
 * Telegram ones too (their APIs asked), else only what the database and
 * the spool say.  TR_EDB / TR_EDBDOWN when the database cannot be read
 * (the spool's part is in found all the same).
 */
enum tr_err tr_alerts_detect(struct tr_alerts *a, int apis,
                             struct tr_alert_found found[TR_ALERT_N], char *msg,
                             size_t msgsz);

/*
 * The sidecar's watch: detects, records what changed and posts one message
 * for each start and each end (ALERT_CHAT_IDS, else the log).
 */
enum tr_err tr_alerts_watch(struct tr_alerts *a, char *msg, size_t msgsz);

/* Whether this host's spool alert is on (its state file). */
int tr_alerts_spool_active(const struct tr_config *cfg);

/* The active alerts as a section of the status page. */
void tr_alerts_html(const struct tr_config *cfg, struct tr_store *store,
                    struct tr_buf *b);

#endif
