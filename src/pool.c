/*
 * pool.c: the supervisor: fork, reap, replace, reload, stop.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"

#define EX_CONFIG 78
#define KIDS (TR_POOL_MAX * 4) /* a generation, and those still leaving */

struct kid {
    pid_t pid; /* 0: a free slot */
    int gen;
};

struct pool {
    const struct tr_pool_ops *ops;
    sigset_t old;
    struct kid kids[KIDS];
    int n, gen, stopping, rc;
    time_t deaths[TR_POOL_DEATHS]; /* when the last ones died, a ring */
    size_t ndeaths;
};

static void __attribute__((format(printf, 3, 4)))
say(const struct pool *p, int priority, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    p->ops->say(priority, line);
}

int
tr_pool_listening(int fd)
{
    int on = 0;
    socklen_t len = sizeof(on);

    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

#ifdef TR_COVERAGE
void __gcov_dump(void);
#endif

/* A worker's exit status, its gcov counts written first in a coverage
 * build (_exit skips the atexit that would write them). */
static int
worker_exit(int status)
{
#ifdef TR_COVERAGE
    __gcov_dump();
#endif
    return status;
}

/* Forks one worker of the current generation. */
static int
spawn(struct pool *p)
{
    struct sigaction sa;
    pid_t pid;
    int i;

    for (i = 0; i < KIDS && p->kids[i].pid != 0; i++)
        ;
    if (i == KIDS)
        return -1;
    if ((pid = fork()) < 0) {
        say(p, 3, "pool: fork failed: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_DFL;
        sigaction(SIGCHLD, &sa, NULL);
        sigprocmask(SIG_SETMASK, &p->old, NULL);
        _exit(worker_exit(p->ops->worker()));
    }
    p->kids[i].pid = pid;
    p->kids[i].gen = p->gen;
    return 0;
}

/* Sends sig to the workers of generations before gen (all: gen + 1). */
static void
signal_before(struct pool *p, int gen, int sig)
{
    int i;

    for (i = 0; i < KIDS; i++)
        if (p->kids[i].pid != 0 && p->kids[i].gen < gen)
            kill(p->kids[i].pid, sig);
}

static int
alive(const struct pool *p)
{
    int i, n = 0;

    for (i = 0; i < KIDS; i++)
        n += p->kids[i].pid != 0;
    return n;
}

/* A worker of the current generation died: replaced, unless they die too
 * often or it found the configuration bad. */
static void
died(struct pool *p, pid_t pid, int status)
{
    time_t now = time(NULL), first;

    if (WIFEXITED(status) && WEXITSTATUS(status) == EX_CONFIG) {
        say(p, 3, "pool: worker %ld found the configuration bad: stopping",
            (long)pid);
        p->stopping = 1;
        p->rc = EX_CONFIG;
        return;
    }
    if (WIFSIGNALED(status))
        say(p, 4, "pool: worker %ld killed by signal %d, replaced", (long)pid,
            WTERMSIG(status));
    else
        say(p, 4, "pool: worker %ld exited %d, replaced", (long)pid,
            WEXITSTATUS(status));
    first = p->deaths[p->ndeaths % TR_POOL_DEATHS];
    p->deaths[p->ndeaths++ % TR_POOL_DEATHS] = now;
    if (p->ndeaths >= TR_POOL_DEATHS && now - first < TR_POOL_DEATH_S) {
        say(p, 3, "pool: %d workers died within %d s: stopping", TR_POOL_DEATHS,
            TR_POOL_DEATH_S);
        p->stopping = 1;
        p->rc = 1;
        return;
    }
    spawn(p);
}

static void
reap(struct pool *p)
{
    pid_t pid;
    int status, i;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (i = 0; i < KIDS && p->kids[i].pid != pid; i++)
            ;
        if (i == KIDS)
            continue;
        p->kids[i].pid = 0;
        if (!p->stopping && p->kids[i].gen == p->gen)
            died(p, pid, status);
    }
}

/* SIGHUP: the configuration again; new workers, then the old ones go. */
static void
reload(struct pool *p)
{
    char msg[512];
    int k;

    msg[0] = '\0';
    if (p->ops->check(msg, sizeof(msg)) != 0) {
        say(p, 3,
            "pool: reload refused, the workers keep the old "
            "configuration: %s",
            msg);
        return;
    }
    p->gen++;
    for (k = 0; k < p->n; k++)
        spawn(p);
    signal_before(p, p->gen, SIGTERM);
    say(p, 6,
        "pool: reloaded: %d new workers, the old ones finish their "
        "requests",
        p->n);
}

/* SIGTERM to every worker, then SIGKILL to those left after a while. */
static void
stop(struct pool *p)
{
    struct timespec tick = {0, 100 * 1000 * 1000};
    time_t until = time(NULL) + TR_POOL_STOP_S;

    p->stopping = 1;
    signal_before(p, p->gen + 1, SIGTERM);
    while (alive(p) > 0 && time(NULL) < until) {
        nanosleep(&tick, NULL); /* the signals are held: a whole nap */
        reap(p);
    }
    if (alive(p) > 0) {
        say(p, 4, "pool: %d workers still busy after %d s: killed", alive(p),
            TR_POOL_STOP_S);
        signal_before(p, p->gen + 1, SIGKILL);
        while (alive(p) > 0 && waitpid(-1, NULL, 0) > 0)
            reap(p);
    }
}

int
tr_pool_run(int n, const struct tr_pool_ops *ops)
{
    struct timespec second = {1, 0};
    struct pool p;
    sigset_t set;
    int k, sig;

    memset(&p, 0, sizeof(p));
    p.ops = ops;
    p.n = n;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &p.old);
    for (k = 0; k < n; k++)
        spawn(&p);
    say(&p, 6, "pool: %d workers started", n);
    while (!p.stopping) {
        sig = sigtimedwait(&set, NULL, &second);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP)
            reload(&p);
        reap(&p);
    }
    say(&p, 6, "pool: stopping");
    stop(&p);
    sigprocmask(SIG_SETMASK, &p.old, NULL);
    return p.rc;
}
