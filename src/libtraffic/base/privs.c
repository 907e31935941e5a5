/*
 * privs.c: becoming the service's user.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/privs.h"

const char *
tr_privs_service_user(void)
{
    const char *u = getenv("TRAFFIC_SERVICE_USER");

    return u != NULL && u[0] != '\0' ? u : TR_SERVICE_USER;
}

int
tr_privs_drop(char *msg, size_t msgsz)
{
    const char *user = tr_privs_service_user();
    struct passwd *pw;

    if (geteuid() != 0 || (pw = getpwnam(user)) == NULL)
        return 0;
    if (pw->pw_uid == 0)
        return 0; /* root is the service's user (the tests' pools) */
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        snprintf(msg, msgsz, "become %s: %s", user, strerror(errno));
        return -1;
    }
    return 1;
}
