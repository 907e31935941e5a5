/*
 * io.c: a request's parameters, body and answer, from libfcgi or, in CGI
 * mode, from the environment, stdin and stdout (io.h).
 */
#include "io.h"

#include <stdio.h>
#include <stdlib.h>

const char *
io_param(struct io *io, const char *name)
{
    return io->fcgi ? FCGX_GetParam(name, io->fcgi->envp) : getenv(name);
}

size_t
io_read(struct io *io, char *buf, size_t n)
{
    size_t got = 0;
    int r;

    if (io->fcgi != NULL) {
        while (got < n) {
            r = FCGX_GetStr(buf + got, (int)(n - got), io->fcgi->in);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        return got;
    }
    while (got < n) {
        size_t k = fread(buf + got, 1, n - got, stdin);

        if (k == 0)
            break;
        got += k;
    }
    return got;
}

void
io_write(struct io *io, const char *p, size_t n)
{
    if (io->fcgi != NULL)
        FCGX_PutStr(p, (int)n, io->fcgi->out);
    else
        fwrite(p, 1, n, stdout);
}

/*
 * libfcgi's close waits for the client to close first (shutdown, poll,
 * read: a sleep and a wake-up per request), taking what it still sends: a
 * close with input unread would have the kernel reset a client still
 * sending a body refused unread.  With the input read to its end nothing
 * is unread, and a detached request (libfcgi 2.4) is closed at once: the
 * worker is ready for the next one.
 */
void
io_end(struct io *io)
{
    FCGX_Request *fcgi = io->fcgi;

    if (fcgi == NULL) {
        fflush(stdout);
        return;
    }
    if (FCGX_HasSeenEOF(fcgi->in) == EOF || FCGX_GetChar(fcgi->in) == EOF)
        FCGX_Detach(fcgi);
    FCGX_Finish_r(fcgi);
}
