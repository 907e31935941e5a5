/*
 * log.c: formatting a line for the caller's sink.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void
tr_log_say(const struct tr_log *log, const char *fmt, ...)
{
    char line[TR_LOG_LINE_MAX];
    va_list ap;

    if (log == NULL || log->line == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log->line(log->arg, line);
}
