/*
 * log.c: formatting a line for the caller's sink.
 */
#include <stdarg.h>
#include <stdio.h>

#include "base/log.h"

static void
vsay(const struct tr_log *log, enum tr_log_level level, const char *fmt,
     va_list ap)
{
    char line[TR_LOG_LINE_MAX];

    if (log == NULL || log->line == NULL)
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    log->line(log->arg, level, line);
}

void
tr_log_say(const struct tr_log *log, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsay(log, TR_LOG_INFO, fmt, ap);
    va_end(ap);
}

void
tr_log_warn(const struct tr_log *log, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsay(log, TR_LOG_WARNING, fmt, ap);
    va_end(ap);
}

void
tr_log_error(const struct tr_log *log, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsay(log, TR_LOG_ERROR, fmt, ap);
    va_end(ap);
}
