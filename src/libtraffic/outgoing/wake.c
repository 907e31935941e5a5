/*
 * wake.c: a unix datagram socket in the spool, and poll().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "outgoing/wake.h"

static int
address(const char *dir, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    return (size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", dir,
                            TR_WAKE_NAME) < sizeof(sa->sun_path)
               ? 0
               : -1;
}

int
tr_wake_listen(const char *dir)
{
    struct sockaddr_un sa;
    int fd, probe;

    if (address(dir, &sa) != 0 ||
        (fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) <
            0)
        return -1;
    mkdir(dir, 0700);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return fd;
    /* taken: by a live sidecar (it stays its), or left by a dead one */
    if (errno == EADDRINUSE &&
        (probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0) {
        if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
            errno == ECONNREFUSED && unlink(sa.sun_path) == 0 &&
            bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            return fd;
        }
        close(probe);
    }
    close(fd);
    return -1;
}

void
tr_wake_wait(int fd, double seconds)
{
    struct pollfd p = {fd, POLLIN, 0};
    char buf[64];

    if (poll(&p, 1, (int)(seconds * 1000)) > 0)
        while (recv(fd, buf, sizeof(buf), 0) > 0)
            ;
}

void
tr_wake_close(int fd, const char *dir)
{
    struct sockaddr_un sa;

    if (fd < 0)
        return;
    close(fd);
    if (address(dir, &sa) == 0)
        unlink(sa.sun_path);
}

void
tr_wake_send(const char *dir)
{
    static int fd = -1;
    static struct sockaddr_un sa;

    if (fd < 0) {
        if (address(dir, &sa) != 0 ||
            (fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                         0)) < 0)
            return;
    }
    /* nobody listening, or its queue full: it will look soon anyway */
    (void)sendto(fd, "w", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa));
}
