/*
 * traffic-webhook: the FastCGI program nginx talks to.
 *
 * A thin main(): it loads the configuration and rules, then serves requests
 * with libfcgi's accept loop, handing each to the libtraffic router and,
 * once the answer is out, what is due to the deliverer (the AmoCRM API,
 * Telegram).  Started outside FastCGI (no listening socket on fd 0) it
 * serves exactly one request as a CGI program, so a saved body can be
 * replayed:
 *
 *     REQUEST_METHOD=POST CONTENT_TYPE=application/x-www-form-urlencoded \
 *     CONTENT_LENGTH=$(stat -c %s body.txt) \
 *     DOCUMENT_URI=/webhook/amocrm/traffic traffic-webhook < body.txt
 *
 * SIGTERM (and SIGHUP: a supervisor then starts one with the new
 * configuration) finishes the request in progress, then exits.  With
 * --workers N it is the pool's supervisor instead (pool.h).  One line per
 * request goes to stderr: request id, outcome per lead, status, duration;
 * to the journal (JOURNAL_STREAM set) with its priority, <6> requests, <4>
 * warnings, <3> errors.
 */
#define _GNU_SOURCE /* EPOLLEXCLUSIVE */
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "libtraffic/base/config.h"
#include "libtraffic/outgoing/deliver.h"
#include "libtraffic/base/metrics.h"
#include "libtraffic/base/privs.h"
#include "libtraffic/router.h"
#include "libtraffic/base/rules.h"
#include "libtraffic/db/store.h"
#include "libtraffic/outgoing/wake.h"
#include "io.h"
#include "pool.h"

#define EX_CONFIG 78

static volatile sig_atomic_t stopping;

/* What a worker holds for its life. */
struct service {
    struct tr_config cfg;
    struct tr_rules rules;
    struct tr_store *store;
    struct tr_router router;
    struct tr_deliver deliver;
    const char *names[TR_METRICS_RULES_MAX]; /* the metrics' targetologists */
};

/* Runs only in the accept loop's epoll_pwait(): the loop then ends. */
static void
on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

/* <3>, <4>, <6> before each line when stderr is the journal's */
static int journal = -1;

/* One line to stderr in a single write, so workers never interleave. */
static void __attribute__((format(printf, 2, 3)))
say(int priority, const char *fmt, ...)
{
    char line[1024];
    int n = 0, m;
    va_list ap;

    if (journal < 0)
        journal = getenv("JOURNAL_STREAM") != NULL;
    if (journal)
        n = snprintf(line, sizeof(line), "<%d>", priority);
    n += snprintf(line + n, sizeof(line) - (size_t)n,
                  "traffic-webhook[%ld]: ", (long)getpid());
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += m;
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}

/* The library's lines: "warning: ..." and "error: ..." have their own. */
static void
log_sink(void *arg, enum tr_log_level level, const char *line)
{
    (void)arg;
    say((int)level, "%s", line);
}

static long long
parse_length(const char *s)
{
    long long v = 0;

    if (s == NULL || *s == '\0' || strlen(s) > 15)
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* AmoCRM's request id, if it looks like one; never echoes other bytes. */
static const char *
request_id(const char *s)
{
    size_t n;

    if (s == NULL || (n = strlen(s)) == 0 || n > 64 ||
        strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789-_.") != n)
        return NULL;
    return s;
}

static void
fill_request(struct io *io, struct tr_request *req, char *pathbuf,
             size_t pathsz)
{
    const char *uri;
    struct timespec ts;

    memset(req, 0, sizeof(*req));
    clock_gettime(CLOCK_REALTIME, &ts);
    req->received_sec = ts.tv_sec;
    req->received_nsec = ts.tv_nsec;
    req->method = io_param(io, "REQUEST_METHOD");
    req->path = io_param(io, "DOCUMENT_URI");
    if (req->path == NULL && (uri = io_param(io, "REQUEST_URI")) != NULL) {
        snprintf(pathbuf, pathsz, "%.*s", (int)strcspn(uri, "?"), uri);
        req->path = pathbuf;
    }
    if (req->path == NULL)
        req->path = io_param(io, "SCRIPT_NAME");
    req->query = io_param(io, "QUERY_STRING");
    req->content_type = io_param(io, "CONTENT_TYPE");
    req->content_length = parse_length(io_param(io, "CONTENT_LENGTH"));
    req->request_id = request_id(io_param(io, "HTTP_X_AMOCRM_REQUESTID"));
    req->authorization = io_param(io, "HTTP_AUTHORIZATION");
    /* only nginx sets it (an allow-listed location): no header can */
    req->trusted = (uri = io_param(io, "TRAFFIC_ADMIN_TRUSTED")) != NULL &&
                   strcmp(uri, "1") == 0;
    /* likewise only nginx: the secret as the traffic webhook's last path
       segment; the path is then the webhook's (never logged with it) */
    if ((req->token = io_param(io, "TRAFFIC_WEBHOOK_TOKEN")) != NULL)
        req->path = "/webhook/amocrm/traffic";
}

static void
respond(struct io *io, const struct tr_response *resp, int head)
{
    char hdr[1024];
    int n;

    n = snprintf(hdr, sizeof(hdr),
                 "Status: %d %s\r\nContent-Type: %s\r\n"
                 "Cache-Control: no-store\r\n"
                 /* no page of ours is framed, sniffed or leaks its URL */
                 "X-Frame-Options: DENY\r\n"
                 "Content-Security-Policy: frame-ancestors 'none'\r\n"
                 "X-Content-Type-Options: nosniff\r\n"
                 "Referrer-Policy: no-referrer\r\n%s%s%s%s%s%s",
                 resp->status, tr_response_reason(resp->status),
                 resp->content_type ? resp->content_type : "application/json",
                 resp->allow ? "Allow: " : "", resp->allow ? resp->allow : "",
                 resp->allow ? "\r\n" : "",
                 resp->www_authenticate ? "WWW-Authenticate: " : "",
                 resp->www_authenticate ? resp->www_authenticate : "",
                 resp->www_authenticate ? "\r\n" : "");
    /* every part above is short and ours: 1 KiB holds them */
    if (n < 0 || n > (int)sizeof(hdr) - 64)
        n = snprintf(hdr, sizeof(hdr), "Status: 500 %s\r\n",
                     tr_response_reason(500));
    if (!head)
        n += snprintf(hdr + n, sizeof(hdr) - (size_t)n,
                      "Content-Length: %zu\r\n", resp->body.len);
    n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "\r\n");
    io_write(io, hdr, (size_t)n);
    if (!head && resp->body.len > 0)
        io_write(io, resp->body.data, resp->body.len);
}

/* Reads the body the router asked for and has it processed. */
static void
finish(struct service *s, struct io *io, struct tr_request *req,
       struct tr_response *resp, struct tr_results *res, char **body)
{
    if ((*body = malloc((size_t)req->content_length + 1)) == NULL) {
        resp->status = 503;
        tr_buf_adds(&resp->body, "{\"success\":false,\"error\":"
                                 "\"out of memory\"}");
        return;
    }
    req->body = *body;
    req->body_len = io_read(io, *body, (size_t)req->content_length);
    req->body_short = req->body_len < (size_t)req->content_length;
    tr_router_finish(&s->router, req, resp, res);
}

/* The endpoint a path counts under in the metrics. */
static enum tr_metrics_endpoint
endpoint_of(int route)
{
    switch ((enum tr_route)route) {
    case TR_ROUTE_TRAFFIC:
        return TR_M_EP_TRAFFIC;
    case TR_ROUTE_UNIFIED:
        return TR_M_EP_UNIFIED;
    case TR_ROUTE_TEST:
        return TR_M_EP_TEST;
    case TR_ROUTE_HEALTH:
        return TR_M_EP_HEALTH;
    case TR_ROUTE_ADMIN_LOGS:
    case TR_ROUTE_ADMIN_STATS:
    case TR_ROUTE_ADMIN_NOTIFICATIONS:
    case TR_ROUTE_STATUS:
        return TR_M_EP_ADMIN;
    case TR_ROUTE_METRICS:
        return TR_M_EP_METRICS;
    case TR_ROUTE_NONE:
        break;
    }
    return TR_M_EP_OTHER;
}

/* Serves one request; *res gets what it did to the leads. */
static void
serve(struct service *s, struct io *io, struct tr_results *res)
{
    struct tr_request req;
    struct tr_response resp;
    struct timespec t0, t1;
    char pathbuf[1024], *body = NULL;
    const char *nginx;
    double ms;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(res, 0, sizeof(*res));
    fill_request(io, &req, pathbuf, sizeof(pathbuf));
    tr_response_init(&resp);
    if (tr_router_begin(&s->router, &req, &resp))
        finish(s, io, &req, &resp, res, &body);
    respond(io, &resp, req.method != NULL && strcmp(req.method, "HEAD") == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
         (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    tr_metrics_request(endpoint_of(req.route), resp.status, ms / 1e3);
    /* nginx's $request_id (the snippet passes it) ties the line to its */
    nginx = request_id(io_param(io, "TRAFFIC_REQUEST_ID"));
    say(resp.status >= 500 ? 3
        : resp.error[0]    ? 4
                           : 6,
        "req=%s %s %s %d %s%s%s%s %.3fms%s%s",
        req.request_id ? req.request_id : "-", req.method ? req.method : "-",
        req.path ? req.path : "-", resp.status, res->summary[0] ? "leads=" : "",
        res->summary, resp.error[0] ? " error=" : "", resp.error, ms,
        nginx ? " id=" : "", nginx ? nginx : "");
    free(body);
    tr_response_release(&resp);
}

/*
 * After the answer, no network: new sales and changed ones wake the deliver
 * sidecar, which asks AmoCRM and sends their messages now (wake.h).
 * Without Telegram the messages are only logged, here.
 */
static void
after_answer(struct service *s, const struct tr_results *res)
{
    if (res->nnew == 0 && res->changed == 0)
        return;
    tr_wake_send(s->cfg.spool_dir);
    if (!s->deliver.notify.enabled)
        tr_deliver_log_messages(&s->deliver, res->new_leads, res->nnew);
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: traffic-webhook [-h] [-V] [--workers N]\n"
            "FastCGI program for AmoCRM webhooks: the listening socket on\n"
            "fd 0 (a systemd socket unit, spawn-fcgi); --workers N: the\n"
            "pool's supervisor, N workers (SIGHUP reloads).\n"
            "Configuration: TRAFFIC_ENV_FILE (default %s) and the\n"
            "environment; see traffic-webhook(8).\n",
            TR_CONFIG_DEFAULT_FILE);
}

/* -V, -h or a bad argument: the exit code; -1 to go on (*workers: 0, or
 * --workers N). */
static int
arguments(int argc, char **argv, int *workers)
{
    char *end;
    long n;
    int help;

    *workers = 0;
    if (argc < 2)
        return -1;
    if (argc == 3 && strcmp(argv[1], "--workers") == 0) {
        n = strtol(argv[2], &end, 10);
        if (*end == '\0' && n >= 1 && n <= TR_POOL_MAX) {
            *workers = (int)n;
            return -1;
        }
        fprintf(stderr, "traffic-webhook: --workers takes 1 to %d\n",
                TR_POOL_MAX);
        return 2;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("traffic-webhook %s\n", TR_VERSION);
        return 0;
    }
    help = strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0;
    usage(help ? stdout : stderr);
    return help ? 0 : 2;
}

/* The env file's warnings ("KEY repeats line N"), one line each. */
static void
warn_lines(const char *w)
{
    size_t n;

    for (; *w != '\0'; w += n + (w[n] == '\n')) {
        n = strcspn(w, "\n");
        say(4, "warning: %.*s", (int)n, w);
    }
}

/* The configuration (with a database) and its rules, into cfg (made
 * ready) and rules: 0, or EX_CONFIG with msg prefixed by what was bad. */
static int
settings(struct tr_config *cfg, struct tr_rules *rules, char *msg, size_t msgsz)
{
    char why[512];

    tr_config_init(cfg);
    if (tr_config_load(cfg, why, sizeof(why)) != TR_OK ||
        tr_config_require(cfg, TR_CFG_DATABASE_URL, why, sizeof(why)) !=
            TR_OK) {
        snprintf(msg, msgsz, "config: %s", why);
        return EX_CONFIG;
    }
    if (tr_rules_configured(rules, cfg->targetologists_file, why,
                            sizeof(why)) != TR_OK) {
        snprintf(msg, msgsz, "rules: %s", why);
        return EX_CONFIG;
    }
    return 0;
}

/* Loads the configuration, the rules and the core: 0 or an exit code. */
static int
load(struct service *s)
{
    static const struct tr_log log = {log_sink, NULL};
    char msg[600];
    int rc;

    if ((rc = settings(&s->cfg, &s->rules, msg, sizeof(msg))) != 0) {
        say(3, "%s", msg);
        return rc;
    }
    warn_lines(s->cfg.warnings);
    if ((s->store = tr_store_new(s->cfg.database_url, "traffic-webhook",
                                 s->cfg.statement_timeout_ms,
                                 s->cfg.db_answer_ms)) == NULL ||
        tr_deliver_init(&s->deliver, &s->cfg, &s->rules, s->store, &log) !=
            TR_OK) {
        say(3, "out of memory");
        return 1;
    }
    tr_router_init(&s->router, &s->cfg, &s->rules, s->store);
    if (tr_metrics_open(
            s->cfg.metrics_file, s->names,
            tr_rules_names(&s->rules, s->names, TR_METRICS_RULES_MAX), msg,
            sizeof(msg)) != TR_OK)
        say(4, "warning: metrics: %s (not counted)", msg);
    return 0;
}

static void
unload(struct service *s)
{
    tr_metrics_close();
    tr_router_release(&s->router);
    if (s->store != NULL)
        tr_deliver_release(&s->deliver);
    tr_rules_release(&s->rules);
    tr_store_free(s->store);
    tr_config_release(&s->cfg);
}

/* One request at a time: answered, then the work after the answer. */
static void
once(struct service *s, struct io *io)
{
    struct tr_results res;

    /* AmoCRM waits 2 s: past DB_ANSWER_MS the request is spooled */
    tr_store_deadline(s->store, s->cfg.db_answer_ms);
    serve(s, io, &res);
    /* AmoCRM has its answer before any message is sent */
    io_end(io);
    tr_store_deadline(s->store, 0);
    after_answer(s, &res);
}

static void
signals(sigset_t *term)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_term;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigemptyset(term);
    sigaddset(term, SIGTERM);
    sigaddset(term, SIGINT);
    sigaddset(term, SIGHUP);
}

/* The accept loop of a FastCGI worker, until SIGTERM. */
static void
accept_loop(struct service *s, const sigset_t *term)
{
    FCGX_Request freq;
    struct io io;
    struct epoll_event ev = {EPOLLIN | EPOLLEXCLUSIVE, {.fd = 0}};
    sigset_t waiting;
    struct tr_health h;
    char msg[512];
    int got, ep;

    /* a worker started while the database is away serves (spools) soon;
     * one that answers and refuses sales is said at once (schema.h) */
    tr_store_deadline(s->store, s->cfg.db_answer_ms);
    if (tr_store_connect(s->store, msg, sizeof(msg)) != TR_OK) {
        say(4, "warning: %s (will retry per request)", msg);
    } else {
        tr_router_health(&s->router, &h);
        if (h.refusing)
            say(3,
                "database: %s (sales are spooled until it is fixed; "
                "traffic-ctl check)",
                h.database);
    }
    tr_store_deadline(s->store, 0);
    FCGX_InitRequest(&freq, 0, 0);
    io.fcgi = &freq;
    /*
     * SIGTERM and SIGHUP are taken only in epoll_pwait(), waiting for a
     * connection: taken in libfcgi's accept, its wait for the request's
     * first bytes (poll) ends with EINTR and libfcgi drops the connection
     * unread.  EPOLLEXCLUSIVE wakes one idle worker per connection, not
     * all; the listening socket is non-blocking, so one another worker
     * took first is EAGAIN, back to the wait.
     */
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) < 0) {
        say(3, "epoll on the listening socket: %s", strerror(errno));
        return;
    }
    sigprocmask(SIG_BLOCK, term, &waiting);
    sigdelset(&waiting, SIGTERM);
    sigdelset(&waiting, SIGINT);
    sigdelset(&waiting, SIGHUP);
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    while (!stopping) {
        if (epoll_pwait(ep, &ev, 1, -1, &waiting) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        got = FCGX_Accept_r(&freq);
        if (got == -EAGAIN || got == -EWOULDBLOCK)
            continue;
        if (got < 0)
            break;
        once(s, &io);
    }
    close(ep);
}

/* A worker's life: its configuration, then requests until SIGTERM. */
static int
worker(void)
{
    struct service s;
    struct io io = {NULL};
    sigset_t term;
    char msg[256];
    int rc;

    memset(&s, 0, sizeof(s));
    if (FCGX_Init() != 0) {
        say(3, "FCGX_Init failed");
        return 1;
    }
    /* a replay by hand as root runs as the service's user: its spool
     * entry, its metrics and its database login are the service's */
    if (FCGX_IsCGI() && tr_privs_drop(msg, sizeof(msg)) < 0) {
        say(3, "%s: replay as the service's user (runuser -u %s -- ...)", msg,
            tr_privs_service_user());
        return 1;
    }
    if ((rc = load(&s)) != 0) {
        unload(&s);
        return rc;
    }
    signals(&term);
    if (FCGX_IsCGI())
        once(&s, &io);
    else
        accept_loop(&s, &term);
    unload(&s);
    return rc;
}

/* The supervisor's check: the configuration and the rules, nothing
 * connected. */
static int
check(char *msg, size_t msgsz)
{
    struct tr_config cfg;
    struct tr_rules rules;
    int rc;

    memset(&rules, 0, sizeof(rules));
    rc = settings(&cfg, &rules, msg, msgsz);
    tr_rules_release(&rules);
    tr_config_release(&cfg);
    return rc;
}

static void
say_line(int priority, const char *line)
{
    say(priority, "%s", line);
}

int
main(int argc, char **argv)
{
    static const struct tr_pool_ops ops = {check, worker, say_line};
    char msg[512];
    int rc, workers;

    if ((rc = arguments(argc, argv, &workers)) >= 0)
        return rc;
    if (workers == 0)
        return worker();
    if (!tr_pool_listening(0)) {
        say(3, "config: --workers needs the listening socket on fd 0 (a "
               "systemd socket unit with StandardInput=socket, or "
               "spawn-fcgi)");
        return EX_CONFIG;
    }
    if ((rc = check(msg, sizeof(msg))) != 0) {
        say(3, "%s", msg);
        return rc;
    }
    return tr_pool_run(workers, &ops);
}
