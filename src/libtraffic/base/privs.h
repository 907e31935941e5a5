/*
 * privs.h: the service's user.  A command an operator runs as root (a
 * replay, a drain) must write nothing the service cannot read: a spool
 * entry or a metrics file of root's is one the service sets aside or
 * cannot count in, and root cannot log in to a PostgreSQL that maps the
 * service's user (peer authentication).  Such a command becomes the
 * service's user first.
 */
#ifndef TR_PRIVS_H
#define TR_PRIVS_H

#include <stddef.h>

/* The units' User=. */
#define TR_SERVICE_USER "traffic-webhook"

/* The user the service runs as: TRAFFIC_SERVICE_USER, else the units'. */
const char *tr_privs_service_user(void);

/*
 * As root, becomes the service's user (its groups, then its gid and uid)
 * when that user exists: 1.  0 when not root or there is no such user
 * (nothing done); -1 with msg when a step failed (then stop: nothing must
 * be written as root).
 */
int tr_privs_drop(char *msg, size_t msgsz);

#endif
