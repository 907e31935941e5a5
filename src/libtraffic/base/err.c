/*
 * err.c: error names and the message helper every module uses.
 */
#include <stdarg.h>
#include <stdio.h>

#include "base/err.h"

const char *
tr_strerror(enum tr_err err)
{
    switch (err) {
    case TR_OK:
        return "success";
    case TR_ENOMEM:
        return "out of memory";
    case TR_EINVAL:
        return "malformed input";
    case TR_ETOOBIG:
        return "input over a limit";
    case TR_ECONFIG:
        return "bad configuration";
    case TR_EDB:
        return "database error";
    case TR_EDBDOWN:
        return "database unavailable";
    case TR_EIO:
        return "i/o error";
    case TR_ENET:
        return "remote api error";
    case TR_EDENIED:
        return "not allowed";
    case TR_EREFUSED:
        return "refused by the database";
    }
    return "unknown error";
}

enum tr_err
tr_fail(char *msg, size_t msgsz, enum tr_err err, const char *fmt, ...)
{
    va_list ap;

    if (msg != NULL && msgsz > 0) {
        va_start(ap, fmt);
        vsnprintf(msg, msgsz, fmt, ap);
        va_end(ap);
    }
    return err;
}
