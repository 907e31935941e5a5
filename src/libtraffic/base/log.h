/*
 * log.h: where the library's progress lines go, with their severity.
 *
 * Library code never prints: a module that has something to say (a message
 * sent, an API refused) formats one line and hands it to the sink its
 * caller gave it, with a syslog priority: the worker's stderr line and the
 * sidecar's stdout carry it to the journal (<3>, <4>, <6>), so
 * "journalctl -p warning" finds a failed send or a held reconciliation.
 */
#ifndef TR_LOG_H
#define TR_LOG_H

#define TR_LOG_LINE_MAX 768

enum tr_log_level {
    TR_LOG_ERROR = 3,   /* something failed for good: a message lost */
    TR_LOG_WARNING = 4, /* something failed and is retried, or held */
    TR_LOG_INFO = 6,    /* progress */
};

struct tr_log {
    /* NULL: say nothing */
    void (*line)(void *arg, enum tr_log_level level, const char *line);
    void *arg;
};

/* Formats one line (cut to TR_LOG_LINE_MAX) and gives it to log's sink:
 * progress, a warning, an error. */
void tr_log_say(const struct tr_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tr_log_warn(const struct tr_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tr_log_error(const struct tr_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
