/*
 * metrics.c: the counters file, mapped shared, and the atomic adds.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/metrics.h"

#define OPEN_FLAGS (O_RDWR | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
#define MAGIC 0x74726d32u /* "trm2": bump when the layout changes */

/* The file: names claimed under its lock, counters added atomically. */
struct layout {
    uint32_t magic, size;
    char names[TR_METRICS_NAMES][TR_METRICS_NAME_MAX];
    uint64_t requests[TR_M_EP_N][TR_METRICS_STATUSES];
    uint64_t duration[TR_METRICS_BUCKETS + 1];
    uint64_t duration_sum_us, duration_count;
    uint64_t leads[2][5];
    uint64_t changes[3];
    uint64_t events[TR_M_EVENT_N];
    uint64_t telegram[6], amocrm[4], enrich[4];
    uint64_t reconcile[6]; /* runs, failed, recovered, corrected, reversed,
                              unchanged */
    uint64_t sales[TR_METRICS_NAMES], amount_cents[TR_METRICS_NAMES];
};

const int tr_metrics_statuses[TR_METRICS_STATUSES] = {
    0, 200, 400, 401, 403, 404, 405, 411, 413, 415, 422, 500, 502, 503};
const double tr_metrics_bounds[TR_METRICS_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
const char *const tr_metrics_endpoints[TR_M_EP_N] = {
    "traffic", "unified", "test", "health", "admin", "metrics", "other"};

static struct layout *M;
/* this process's targetologists, by index (the fallback last), to their
 * slots */
static int slots[TR_METRICS_RULES_MAX];
static size_t nslots;

/*
 * The file is shared with whoever can write the spool directory: one that
 * shrinks it under a running pool would make the next add touch a page
 * past its end (SIGBUS).  The handler puts private zeroed memory where the
 * file was mapped, so the add lands there, and says so in lost; the next
 * add maps the file again (a new one, counters from zero).  A file removed
 * or replaced is noticed within a second by its inode.
 */
static volatile sig_atomic_t lost;
static struct sigaction chained;        /* the SIGBUS action before ours */
static int handling;                    /* ours is installed */
static char opened[1024];               /* the path mapped */
static const char *const *opened_names; /* the caller's array */
static size_t opened_n;
static dev_t opened_dev;
static ino_t opened_ino;
static time_t checked; /* the last look at the path */

static void
on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    char *a = si->si_addr, *m = (char *)M;

    if (m != NULL && a >= m && a < m + sizeof(struct layout) &&
        mmap(m, sizeof(struct layout), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
        lost = 1;
        return; /* the faulting add runs again, on the new memory */
    }
    /* not ours: what would have happened without us */
    sigaction(SIGBUS, &chained, NULL);
    if (chained.sa_flags & SA_SIGINFO)
        chained.sa_sigaction(sig, si, ctx);
    else if (chained.sa_handler != SIG_IGN && chained.sa_handler != SIG_DFL)
        chained.sa_handler(sig);
    else
        raise(sig);
}

static void
reopen(void)
{
    char msg[256];
    char path[sizeof(opened)];

    memcpy(path, opened, sizeof(path));
    lost = 0;
    /* failing, no counters (rather than wrong ones) until the next look */
    (void)tr_metrics_open(path, opened_names, opened_n, msg, sizeof(msg));
}

/*
 * Maps the file again when it shrank under us, or was replaced (looked at
 * once a second), or could not be had last time.  A path that is not
 * there for the moment (its directory renamed) leaves the mapping as it
 * is: the file is still the one we count in.
 */
static void
revalidate(void)
{
    struct stat sb;
    time_t now = time(NULL);

    if (lost) {
        reopen();
        return;
    }
    if (opened[0] == '\0' || now == checked)
        return;
    checked = now;
    if (M == NULL || (stat(opened, &sb) == 0 &&
                      (sb.st_ino != opened_ino || sb.st_dev != opened_dev ||
                       sb.st_size != (off_t)sizeof(struct layout))))
        reopen();
}

/* Whether there are counters to add to, the file looked at first: every
 * entry point asks before it takes an address in M (which may move). */
static int
ready(void)
{
    revalidate();
    return M != NULL;
}

static void
add(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* The slot of a targetologist's name, claimed if new; -1 when full. */
static int
claim(const char *name)
{
    int i, free = -1;

    for (i = 0; i < TR_METRICS_NAMES; i++) {
        if (M->names[i][0] == '\0') {
            if (free < 0)
                free = i;
            continue;
        }
        if (strncmp(M->names[i], name, TR_METRICS_NAME_MAX - 1) == 0)
            return i;
    }
    if (free >= 0)
        snprintf(M->names[free], TR_METRICS_NAME_MAX, "%s", name);
    return free;
}

/* Maps the file open on fd (locked): a new one is sized and stamped. */
static int
map(int fd, char *msg, size_t msgsz)
{
    struct stat sb;
    void *p;
    int fresh;

    if (fstat(fd, &sb) != 0)
        return -1;
    if (!S_ISREG(sb.st_mode)) {
        tr_fail(msg, msgsz, TR_EIO, "the metrics file is not a regular file");
        return -1;
    }
    opened_dev = sb.st_dev;
    opened_ino = sb.st_ino;
    fresh = sb.st_size == 0;
    if (!fresh && sb.st_size != (off_t)sizeof(struct layout))
        return 1; /* another layout */
    /* the blocks reserved, not a sparse file: a page that a full disk
       cannot back would kill the worker (SIGBUS) at its first count */
    if (fresh && (errno = posix_fallocate(fd, 0, sizeof(struct layout))) != 0) {
        tr_fail(msg, msgsz, TR_EIO, "size the metrics file: %s",
                strerror(errno));
        return -1;
    }
    p = mmap(NULL, sizeof(struct layout), PROT_READ | PROT_WRITE, MAP_SHARED,
             fd, 0);
    if (p == MAP_FAILED) {
        tr_fail(msg, msgsz, TR_EIO, "map the metrics file: %s",
                strerror(errno));
        return -1;
    }
    M = p;
    if (fresh) {
        M->magic = MAGIC;
        M->size = sizeof(struct layout);
    } else if (M->magic != MAGIC || M->size != sizeof(struct layout)) {
        munmap(p, sizeof(struct layout));
        M = NULL;
        return 1;
    }
    return 0;
}

/* Claims the slot of every name. */
static void
name_rules(const char *const *names, size_t n)
{
    nslots = 0;
    while (nslots < n && nslots < TR_METRICS_RULES_MAX) {
        slots[nslots] = claim(names[nslots]);
        nslots++;
    }
}

/* The directory of path, made as the spool's would be (the default is in
 * SPOOL_DIR, which the first spooled request would make). */
static int
make_dir(const char *path)
{
    char dir[1024];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", path);
    if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
        return -1;
    *slash = '\0';
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Our SIGBUS handler, once per process. */
static void
handle_sigbus(void)
{
    struct sigaction sa;

    if (handling)
        return;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &chained) == 0)
        handling = 1;
}

enum tr_err
tr_metrics_open(const char *path, const char *const *names, size_t n, char *msg,
                size_t msgsz)
{
    int fd = -1, r = 1, tries;

    tr_metrics_close();
    snprintf(opened, sizeof(opened), "%s", path);
    opened_names = names;
    opened_n = n;
    checked = time(NULL);
    handle_sigbus();
    for (tries = 0; tries < 2 && r == 1; tries++) {
        /* never wait on a FIFO or follow a link put in its place */
        if ((fd = open(path, OPEN_FLAGS, 0600)) < 0 && errno == ENOENT &&
            make_dir(path) == 0)
            fd = open(path, OPEN_FLAGS, 0600);
        if (fd < 0)
            return tr_fail(msg, msgsz, TR_EIO, "open \"%s\" failed: %s", path,
                           strerror(errno));
        if (flock(fd, LOCK_EX) != 0) {
            close(fd);
            return tr_fail(msg, msgsz, TR_EIO, "lock \"%s\" failed: %s", path,
                           strerror(errno));
        }
        if ((r = map(fd, msg, msgsz)) == 1)
            unlink(path); /* an older layout: a new file, the old stays
                           * with the processes that have it */
        if (r == 0)
            name_rules(names, n);
        flock(fd, LOCK_UN);
        close(fd);
    }
    if (r != 0)
        return r < 0 ? TR_EIO
                     : tr_fail(msg, msgsz, TR_EIO, "\"%s\": not a metrics file",
                               path);
    return TR_OK;
}

void
tr_metrics_close(void)
{
    struct layout *m = M;

    M = NULL;
    if (m != NULL)
        munmap(m, sizeof(struct layout));
    nslots = 0;
    opened[0] = '\0'; /* closed on purpose: not mapped again */
}

static int
status_index(int status)
{
    int i;

    for (i = 1; i < TR_METRICS_STATUSES; i++)
        if (tr_metrics_statuses[i] == status)
            return i;
    return 0;
}

void
tr_metrics_request(enum tr_metrics_endpoint ep, int status, double seconds)
{
    int k;

    if (ep >= TR_M_EP_N || !ready())
        return;
    add(&M->requests[ep][status_index(status)], 1);
    if (ep != TR_M_EP_TRAFFIC && ep != TR_M_EP_UNIFIED)
        return;
    for (k = 0; k < TR_METRICS_BUCKETS && seconds > tr_metrics_bounds[k]; k++)
        ;
    add(&M->duration[k], 1);
    add(&M->duration_sum_us, (uint64_t)(seconds * 1e6));
    add(&M->duration_count, 1);
}

void
tr_metrics_lead(int unified, int outcome)
{
    if (outcome >= 0 && outcome < 5 && ready())
        add(&M->leads[unified != 0][outcome], 1);
}

/* "100000", "99.5", "12.05" in hundredths. */
static uint64_t
cents(const char *amount)
{
    uint64_t v = 0;
    int frac = -1;

    for (; amount != NULL && *amount != '\0'; amount++) {
        if (*amount == '.') {
            frac = 0;
            continue;
        }
        if (*amount < '0' || *amount > '9' || frac == 2)
            break;
        v = v * 10 + (uint64_t)(*amount - '0');
        if (frac >= 0)
            frac++;
    }
    for (; frac < 2; frac = frac < 0 ? 1 : frac + 1)
        v *= 10;
    return v;
}

void
tr_metrics_sale(size_t i, const char *amount)
{
    int slot;

    if (!ready() || nslots == 0)
        return;
    if (i >= nslots || (slot = slots[i]) < 0)
        return;
    add(&M->sales[slot], 1);
    if (amount != NULL && amount[0] != '\0')
        add(&M->amount_cents[slot], cents(amount));
}

void
tr_metrics_change(const char *change)
{
    static const char *const names[3] = {"price_changed", "reversed",
                                         "restored"};
    int i;

    for (i = 0; change != NULL && i < 3; i++)
        if (strcmp(change, names[i]) == 0 && ready())
            add(&M->changes[i], 1);
}

void
tr_metrics_event(enum tr_metrics_event e)
{
    if (e < TR_M_EVENT_N && ready())
        add(&M->events[e], 1);
}

void
tr_metrics_telegram(int outcome)
{
    if (outcome >= 0 && outcome < 6 && ready())
        add(&M->telegram[outcome], 1);
}

void
tr_metrics_amocrm(int status)
{
    if (status >= 0 && status < 4 && ready())
        add(&M->amocrm[status], 1);
}

void
tr_metrics_enrich(const char *result)
{
    static const char *const names[4] = {"done", "failed", "unconfirmed",
                                         "retry"};
    int i;

    for (i = 0; i < 4; i++)
        if (strcmp(result, names[i]) == 0 && ready())
            add(&M->enrich[i], 1);
}

void
tr_metrics_reconcile(size_t recovered, size_t corrected, size_t reversed,
                     size_t unchanged, int failed)
{
    if (!ready())
        return;
    add(&M->reconcile[0], 1);
    add(&M->reconcile[1], failed != 0);
    add(&M->reconcile[2], recovered);
    add(&M->reconcile[3], corrected);
    add(&M->reconcile[4], reversed);
    add(&M->reconcile[5], unchanged);
}

int
tr_metrics_read(struct tr_metrics_snapshot *s)
{
    if (!ready())
        return -1;
    /* aligned 64-bit words: each read whole, the set not at one instant */
    memcpy(s->requests, M->requests, sizeof(s->requests));
    memcpy(s->duration, M->duration, sizeof(s->duration));
    s->duration_sum_us = M->duration_sum_us;
    s->duration_count = M->duration_count;
    memcpy(s->leads, M->leads, sizeof(s->leads));
    memcpy(s->changes, M->changes, sizeof(s->changes));
    memcpy(s->events, M->events, sizeof(s->events));
    memcpy(s->telegram, M->telegram, sizeof(s->telegram));
    memcpy(s->amocrm, M->amocrm, sizeof(s->amocrm));
    memcpy(s->enrich, M->enrich, sizeof(s->enrich));
    memcpy(s->reconcile, M->reconcile, sizeof(s->reconcile));
    memcpy(s->names, M->names, sizeof(s->names));
    memcpy(s->sales, M->sales, sizeof(s->sales));
    memcpy(s->amount_cents, M->amount_cents, sizeof(s->amount_cents));
    return 0;
}
