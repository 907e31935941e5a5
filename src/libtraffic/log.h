/*
 * log.h: where the library's progress lines go.
 *
 * Library code never prints: a module that has something to say (a message
 * sent, an API refused) formats one line and hands it to the sink its
 * caller gave it: the worker's stderr line, traffic-ctl's stdout.
 */
#ifndef TR_LOG_H
#define TR_LOG_H

#define TR_LOG_LINE_MAX 768

struct tr_log {
    void (*line)(void *arg, const char *line); /* NULL: say nothing */
    void *arg;
};

/* Formats one line (cut to TR_LOG_LINE_MAX) and gives it to log's sink. */
void tr_log_say(const struct tr_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
