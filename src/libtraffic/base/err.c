/*
 * err.c: the message helper every module uses.
 */
#include <stdarg.h>
#include <stdio.h>

#include "base/err.h"

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
