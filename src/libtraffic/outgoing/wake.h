/*
 * wake.h: the workers wake the host's deliver sidecar.
 *
 * A request worker does no network work after its answer: the sidecar
 * sends the messages and asks the AmoCRM API, so however Telegram or
 * AmoCRM behave a worker is ready for the next request at once.  To keep
 * a message's delay at a few milliseconds the worker wakes the sidecar
 * with one datagram to a socket in SPOOL_DIR (TR_WAKE_NAME), without
 * waiting and without caring whether anyone listens; the sidecar waits on
 * it between rounds instead of napping.  (A second sidecar on the host
 * finds the socket taken and naps as before.)
 */
#ifndef TR_WAKE_H
#define TR_WAKE_H

#define TR_WAKE_NAME ".wake"

/* Opens the sidecar's end in dir: an fd, or -1 (then it naps). */
int tr_wake_listen(const char *dir);

/* Waits on fd (from tr_wake_listen) at most seconds, or until a worker
 * woke it; the wakes meanwhile are taken all at once. */
void tr_wake_wait(int fd, double seconds);

/* Closes the sidecar's end and removes its socket. */
void tr_wake_close(int fd, const char *dir);

/* A worker's nudge: one datagram to dir's socket, never blocking. */
void tr_wake_send(const char *dir);

#endif
