/*
 * secret.h: the service's secrets (WEBHOOK_SECRET, ADMIN_TOKEN, the
 * password in DATABASE_URL): compared in constant time, masked wherever
 * they could be printed.
 */
#ifndef TR_SECRET_H
#define TR_SECRET_H

#include <stddef.h>

/*
 * Whether given equals secret, in time that does not depend on where they
 * differ (only on the secret's length).
 */
int tr_secret_equal(const char *given, const char *secret);

/*
 * Writes a libpq URI or conninfo string with its password replaced by
 * "***" into buf: the password of "user:password@" and every "password="
 * parameter, quoted or not.
 */
void tr_secret_mask_url(const char *url, char *buf, size_t bufsz);

#endif
