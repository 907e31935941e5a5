/*
 * Where a request's parameters and body come from and its answer goes: a
 * FastCGI request from libfcgi's accept loop, or, in CGI mode (a saved body
 * replayed from the command line), the environment, stdin and stdout.
 */
#ifndef TRAFFIC_IO_H
#define TRAFFIC_IO_H

#include <fcgiapp.h>
#include <stddef.h>

struct io {
    FCGX_Request *fcgi; /* NULL in CGI mode */
};

/* A request parameter (CGI: an environment variable), or NULL. */
const char *io_param(struct io *io, const char *name);

/* Reads up to n bytes of the body; fewer only at its end. */
size_t io_read(struct io *io, char *buf, size_t n);

void io_write(struct io *io, const char *p, size_t n);

/* Sends the answer and ends the request: the client has all of it. */
void io_end(struct io *io);

#endif
