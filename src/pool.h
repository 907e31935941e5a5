/*
 * pool.h: traffic-webhook --workers N, the pool's own supervisor.
 *
 * The listening socket comes on fd 0, from a systemd socket unit or from
 * spawn-fcgi.  The supervisor checks the configuration first: a bad one
 * exits 78 (EX_CONFIG), which systemd's RestartPreventExitStatus=78 does
 * not restart, and its line says why.  It then forks N workers that accept
 * on the socket, and replaces any that dies.
 *
 * SIGHUP checks the configuration again.  If it is good, N new workers
 * start and the old ones get SIGTERM: each finishes the request in hand
 * (an idle one leaves at once, and the connections waiting go to the new
 * ones), so a reload drops no request.  A bad one is refused and the pool
 * keeps what it has.  SIGTERM and SIGINT stop the workers the same way,
 * and the supervisor exits 0.  Workers dying more than TR_POOL_DEATHS
 * times in TR_POOL_DEATH_S seconds stop the pool with exit 1, or 78 when a
 * worker found the configuration bad.
 */
#ifndef TR_POOL_H
#define TR_POOL_H

#include <stddef.h>

#define TR_POOL_MAX 64
#define TR_POOL_DEATHS 10
#define TR_POOL_DEATH_S 10
#define TR_POOL_STOP_S 30 /* then the workers left are killed */

struct tr_pool_ops {
    /* 0 when the configuration is good, else an exit code (msg: why) */
    int (*check)(char *msg, size_t msgsz);
    /* a worker's life, in the child: its exit code */
    int (*worker)(void);
    /* one line of the supervisor's: 3 error, 4 warning, 6 info */
    void (*say)(int priority, const char *line);
};

/* Whether fd is a listening socket. */
int tr_pool_listening(int fd);

/* Supervises n workers until SIGTERM: the supervisor's exit code. */
int tr_pool_run(int n, const struct tr_pool_ops *ops);

#endif
