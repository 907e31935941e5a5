/*
 * amobase.h: the AmoCRM API's base URL, from the configuration
 * (AMOCRM_API_BASE, AMOCRM_DOMAIN) or from a webhook's account link.
 */
#ifndef TR_AMOBASE_H
#define TR_AMOBASE_H

#include <stddef.h>

struct tr_config;

/*
 * Writes the AmoCRM API base URL into buf: AMOCRM_API_BASE, else
 * https://AMOCRM_DOMAIN.amocrm.ru.  Returns 1 when the API can be used (a
 * token and a base), else 0 (buf is then "").
 */
int tr_amobase_configured(const struct tr_config *cfg, char *buf, size_t bufsz);

/*
 * Writes the API base of a webhook's account[_links][self] into buf
 * ("https://onaiagencykz.amocrm.com") when it is the configured account's
 * (AMOCRM_DOMAIN on amocrm.ru, amocrm.com or kommo.com, over https).
 * Returns 1 then, else 0 (a forged or foreign link is never used).
 */
int tr_amobase_of_account(const struct tr_config *cfg, const char *self,
                          char *buf, size_t bufsz);

#endif
