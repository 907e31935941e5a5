/*
 * deliver.c: traffic-ctl deliver (once, or --loop as the sidecar) and
 * traffic-ctl spool: what the workers leave for later, the spool of a
 * database outage and the outbox's retries and paced messages.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "libtraffic/observe/alerts.h"
#include "libtraffic/outgoing/deliver.h"
#include "libtraffic/outgoing/digest.h"
#include "libtraffic/base/metrics.h"
#include "libtraffic/intake/drain.h"
#include "libtraffic/outgoing/outbox.h"
#include "libtraffic/intake/pipeline.h"
#include "libtraffic/outgoing/ads.h"
#include "libtraffic/outgoing/roi.h"
#include "libtraffic/outgoing/reconcile.h"
#include "libtraffic/base/rules.h"
#include "libtraffic/intake/spool.h"
#include "libtraffic/outgoing/wake.h"

#define ONCE_MAX_S 600    /* deliver without --loop waits out pacing so long */
#define DIGEST_LOOK_S 30  /* how often the sidecar looks for a summary due */
#define ANALYZE_LOOK_S 60 /* and whether the planner knows the backlog */

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

/* Sleeps up to seconds, returning early on SIGTERM. */
static void
nap(double seconds)
{
    struct timespec ts;

    if (seconds < 0.05)
        seconds = 0.05;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    if (!stopping)
        nanosleep(&ts, NULL); /* EINTR on SIGTERM is the point */
}

/* Replays the spool when it holds anything; lines go to stdout. */
static enum tr_err
drain(struct tr_pipeline *p, const char *dir, char *msg, size_t msgsz)
{
    struct tr_drain_stats st;
    enum tr_err err;

    if (tr_spool_depth(dir) <= 0)
        return TR_OK;
    err = tr_drain_run(dir, p, stdout, &st, msg, msgsz);
    if (st.replayed + st.corrupt > 0)
        printf("spool: %zu replayed, %zu set aside, %zu left\n", st.replayed,
               st.corrupt, st.left);
    fflush(stdout);
    return err;
}

int
ctl_spool_args(const struct ctl *c)
{
    const char *what = c->noperands > 0 ? c->operand[0] : "status";

    return strcmp(what, "status") == 0 || strcmp(what, "drain") == 0 ? 0 : -1;
}

int
ctl_spool(struct ctl *c)
{
    int draining = c->noperands > 0 && strcmp(c->operand[0], "drain") == 0;
    struct tr_pipeline p;
    char msg[512];
    long depth;
    int rc;

    if (draining) {
        if ((rc = ctl_require_db(c)) != 0)
            return rc;
        tr_pipeline_init(&p, &c->cfg, &c->rules, c->store);
        if (drain(&p, c->cfg.spool_dir, msg, sizeof(msg)) != TR_OK) {
            fprintf(stderr, "traffic-ctl spool drain: %s\n", msg);
            return 1;
        }
    }
    if ((depth = tr_spool_depth(c->cfg.spool_dir)) < 0) {
        fprintf(stderr, "traffic-ctl spool: cannot read %s\n",
                c->cfg.spool_dir);
        return 1;
    }
    printf("spool %s: %ld request%s waiting\n", c->cfg.spool_dir, depth,
           depth == 1 ? "" : "s");
    /* drain leaves nothing behind unless the database stopped it */
    return draining && depth > 0 ? 1 : 0;
}

/* The sidecar's state between rounds. */
struct sidecar {
    struct tr_deliver d;
    struct tr_pipeline p;
    struct tr_reconcile rec;
    struct tr_alerts alerts;
    struct tr_notify_stats st;
    long due, pending;
    double wait;
    int loop;
    int reconciled;       /* once since the start */
    struct timespec last; /* the last reconciliation (monotonic) */
    const char *names[TR_METRICS_RULES_MAX]; /* the metrics' targetologists */
    int watched;                             /* the alerts, likewise */
    struct timespec last_watch;
    struct timespec last_digest; /* the daily summary's look */
    int digested;
    struct timespec last_analyze; /* the planner's, likewise */
    struct timespec last_ads;     /* the ad spend sync's look */
    int ads_looked;
    int analyzed;
    int wake; /* the workers' nudges (wake.h), -1: none */
};

/* Whether a task run every seconds is due (the first time: at once); when it
 * is, *ran and *last say it ran now. */
static int
every(int *ran, struct timespec *last, long seconds)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (*ran && now.tv_sec - last->tv_sec < seconds)
        return 0;
    *ran = 1;
    *last = now;
    return 1;
}

/* With --loop and FACEBOOK_ADS_TOKEN: the ad spend sync when it is due
 * (looked at each minute; one host syncs every ADS_SYNC_INTERVAL_S).  Its
 * lines on stdout; its failure is said, and the alert's. */
static void
ads_when_due(struct ctl *c, struct sidecar *s)
{
    static const struct tr_log log = {ctl_print_line, NULL};
    struct tr_roi_days d;
    struct tr_ads_stats st;
    char msg[600];

    if (!s->loop || c->cfg.fb_token == NULL ||
        c->cfg.ads_sync_interval_s == 0 ||
        !every(&s->ads_looked, &s->last_ads, 60) ||
        tr_ads_due(c->store, &c->cfg, msg, sizeof(msg)) != 1)
        return;
    if (tr_roi_days(c->store, &c->cfg, &d, msg, sizeof(msg)) != TR_OK ||
        tr_ads_sync(c->store, &c->cfg, &c->rules, d.since, d.today, &log, &st,
                    msg, sizeof(msg)) != TR_OK)
        printf("ads: %s\n", msg);
    else
        printf("ads: %ld campaign days, %ld rates\n", st.rows, st.rates);
    fflush(stdout);
}

/* With --loop, every RECONCILE_INTERVAL_S: a reconciliation (its line on
 * stdout); its failure is said and the round goes on. */
static void
reconcile_when_due(struct ctl *c, struct sidecar *s)
{
    struct tr_reconcile_stats st;
    char msg[512], line[768];

    if (!s->loop || !s->rec.enabled || c->cfg.reconcile_interval_s == 0 ||
        !every(&s->reconciled, &s->last, (long)c->cfg.reconcile_interval_s))
        return;
    if (tr_reconcile_run(&s->rec, c->cfg.reconcile_window_s, 0, &st, msg,
                         sizeof(msg)) != TR_OK)
        printf("reconcile: %s\n", msg);
    tr_reconcile_line(&st, line, sizeof(line));
    printf("%s\n", line);
    fflush(stdout);
}

/* With --loop, every ALERT_CHECK_S: the alerts' watch. */
static void
watch_when_due(struct ctl *c, struct sidecar *s)
{
    char msg[512];

    if (!s->loop ||
        !every(&s->watched, &s->last_watch, (long)c->cfg.alert_check_s))
        return;
    if (tr_alerts_watch(&s->alerts, msg, sizeof(msg)) != TR_OK)
        printf("alert: the watch failed: %s\n", msg);
    fflush(stdout);
}

/* With --loop, twice a minute: queues the daily summaries that are due
 * (sent by the rounds like any message). */
static void
digest_when_due(struct ctl *c, struct sidecar *s)
{
    char msg[512];
    long rows;

    if (!s->loop || c->cfg.digest_minute < 0 || !s->d.notify.enabled ||
        !every(&s->digested, &s->last_digest, DIGEST_LOOK_S))
        return;
    if (tr_digest_due(c->store, &c->cfg, &c->rules, &rows, msg, sizeof(msg)) !=
        TR_OK)
        printf("digest: %s\n", msg);
    else if (rows > 0)
        printf("digest: the daily summary queued for %ld chat%s\n", rows,
               rows == 1 ? "" : "s");
    fflush(stdout);
}

/* Every ANALYZE_LOOK_S while a backlog lasts: the outbox ANALYZEd when
 * PostgreSQL's plans count on far fewer pending messages (outbox.h). */
static void
analyze_when_due(struct ctl *c, struct sidecar *s)
{
    double planned[2];
    char msg[512];
    long ms;

    if (s->pending < TR_OUTBOX_ANALYZE_MIN ||
        !every(&s->analyzed, &s->last_analyze, ANALYZE_LOOK_S))
        return;
    if (tr_outbox_analyze(c->store, s->pending, planned, &ms, msg,
                          sizeof(msg)) != TR_OK)
        printf("deliver: ANALYZE notification_outbox: %s\n", msg);
    else if (ms >= 0)
        printf("deliver: %ld messages pending where PostgreSQL's plans "
               "count on %.0f: ANALYZE notification_outbox took %ld ms, "
               "now %.0f\n",
               s->pending, planned[0], ms, planned[1]);
    fflush(stdout);
}

/* One round: the spool, then what is due; the pending messages after.
 * (The alerts' watch comes after each round, whatever it met.) */
static enum tr_err
round_once(struct ctl *c, struct sidecar *s, char *msg, size_t msgsz)
{
    enum tr_err err;

    if ((err = drain(&s->p, c->cfg.spool_dir, msg, msgsz)) != TR_OK ||
        (err = tr_deliver_run(&s->d, &s->st, msg, msgsz)) != TR_OK)
        return err;
    reconcile_when_due(c, s);
    digest_when_due(c, s);
    ads_when_due(c, s);
    if ((err = tr_outbox_pending(c->store, &s->due, &s->pending, &s->wait, msg,
                                 msgsz)) == TR_OK)
        analyze_when_due(c, s);
    return err;
}

/* Rounds until SIGTERM (loop), or until nothing is due. */
static int
rounds(struct ctl *c, struct sidecar *s, int loop)
{
    struct timespec t0, t;
    enum tr_err err;
    char msg[512];

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!stopping) {
        err = round_once(c, s, msg, sizeof(msg));
        watch_when_due(c, s); /* the database away too: the spool's alert */
        if (err != TR_OK) {
            printf("deliver: %s\n", msg);
            fflush(stdout);
            if (!loop)
                return 1;
            /* the database is away: try again later (the alerts' watch
               keeps its pace: it is what says so) */
            nap(c->cfg.alert_check_s < 5 ? (double)c->cfg.alert_check_s : 5);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        /* once: what is due, held back only by pacing, for ten minutes */
        if (!loop && (s->due == 0 || t.tv_sec - t0.tv_sec > ONCE_MAX_S))
            break;
        /* until the next is due, at most a second, or a worker's wake */
        if (s->wake >= 0)
            tr_wake_wait(s->wake, s->wait < 0 || s->wait > 1 ? 1 : s->wait);
        else
            nap(s->wait < 0 || s->wait > 1 ? 1 : s->wait);
    }
    return 0;
}

/* --now: the retries made due at once. */
static int
retry_now(struct ctl *c)
{
    char msg[512];
    long rows;

    if (tr_outbox_retry_now(c->store, &rows, msg, sizeof(msg)) != TR_OK) {
        fprintf(stderr, "traffic-ctl deliver: %s\n", msg);
        return 1;
    }
    printf("deliver: %ld message%s made due now\n", rows, rows == 1 ? "" : "s");
    return 0;
}

int
ctl_deliver(struct ctl *c)
{
    static const struct tr_log log = {ctl_print_line, NULL};
    /* --loop, --now */
    int loop = c->opt[0] != NULL, rc = 0;
    struct sigaction sa;
    struct sidecar s;
    char msg[512];

    memset(&s, 0, sizeof(s));
    s.wait = -1;
    s.loop = loop;
    s.wake = loop ? tr_wake_listen(c->cfg.spool_dir) : -1;
    if (tr_deliver_init(&s.d, &c->cfg, &c->rules, c->store, &log) != TR_OK ||
        tr_reconcile_init(&s.rec, &c->cfg, &c->rules, c->store, &log) !=
            TR_OK ||
        tr_alerts_init(&s.alerts, &c->cfg, c->store, &log) != TR_OK) {
        fprintf(stderr, "traffic-ctl deliver: out of memory\n");
        return 1;
    }
    if (!s.d.notify.enabled)
        printf("deliver: TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_IDS not set: "
               "no messages to send, only the spool to replay\n");
    tr_pipeline_init(&s.p, &c->cfg, &c->rules, c->store);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop; /* no SA_RESTART: a nap ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (c->opt[1] != NULL && (rc = retry_now(c)) != 0) {
        tr_reconcile_release(&s.rec);
        tr_deliver_release(&s.d);
        return rc;
    }
    if (loop && tr_metrics_open(
                    c->cfg.metrics_file, s.names,
                    tr_rules_names(&c->rules, s.names, TR_METRICS_RULES_MAX),
                    msg, sizeof(msg)) != TR_OK)
        printf("deliver: metrics: %s (not counted)\n", msg);
    if (loop)
        printf("deliver: running; SIGTERM stops\n");
    fflush(stdout);
    rc = rounds(c, &s, loop);
    tr_wake_close(s.wake, c->cfg.spool_dir);
    tr_metrics_close();
    printf("deliver: %zu sent, %zu to retry, %zu failed; %ld pending\n",
           s.st.sent, s.st.retried, s.st.failed, s.pending);
    tr_alerts_release(&s.alerts);
    tr_reconcile_release(&s.rec);
    tr_deliver_release(&s.d);
    return rc != 0 ? rc : s.st.failed > 0 ? 1 : 0;
}
