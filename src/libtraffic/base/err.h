/*
 * err.h: the one error type of libtraffic.
 *
 * Every library function that can fail returns an enum tr_err and, where the
 * caller passes one, writes a one-line lowercase detail into a caller-owned
 * message buffer (like PQerrorMessage).  "Not for us" (a skipped lead, an
 * ignored event) is a normal result, never an error.
 */
#ifndef TR_ERR_H
#define TR_ERR_H

#include <stddef.h>

enum tr_err {
    TR_OK = 0,
    TR_ENOMEM,   /* out of memory */
    TR_EINVAL,   /* malformed input: the sender's fault */
    TR_ETOOBIG,  /* input over one of the hard limits */
    TR_ECONFIG,  /* bad configuration or rules file */
    TR_EDB,      /* the database refused or failed a statement */
    TR_EDBDOWN,  /* the database cannot be reached at all */
    TR_EIO,      /* a local file or socket failed */
    TR_ENET,     /* a remote API failed */
    TR_EDENIED,  /* not allowed: wrong secret, foreign account */
    TR_EREFUSED, /* the database refuses this data for good: a constraint,
                  * a value out of range (SQLSTATE class 22 or 23) */
};

/*
 * Formats a message into msg (of size msgsz, may be 0) and returns err, so a
 * failing path reads "return tr_fail(msg, msgsz, TR_EINVAL, "...", ...);".
 */
enum tr_err tr_fail(char *msg, size_t msgsz, enum tr_err err, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

#endif
