/*
 * amobase.c: the AmoCRM API's base URL, from the configuration or from a
 * webhook's own account link.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/amobase.h"
#include "base/config.h"

int
tr_amobase_configured(const struct tr_config *cfg, char *buf, size_t bufsz)
{
    buf[0] = '\0';
    if (cfg->amocrm_access_token == NULL)
        return 0;
    if (cfg->amocrm_api_base != NULL)
        snprintf(buf, bufsz, "%s", cfg->amocrm_api_base);
    else if (cfg->amocrm_domain != NULL)
        snprintf(buf, bufsz, "https://%s.amocrm.ru", cfg->amocrm_domain);
    return buf[0] != '\0';
}

int
tr_amobase_of_account(const struct tr_config *cfg, const char *self, char *buf,
                      size_t bufsz)
{
    static const char *const hosts[] = {".amocrm.ru", ".amocrm.com",
                                        ".kommo.com"};
    const char *host, *end;
    size_t d, n, i;

    buf[0] = '\0';
    if (cfg->amocrm_domain == NULL || self == NULL ||
        strncmp(self, "https://", 8) != 0)
        return 0;
    host = self + 8;
    end = host + strcspn(host, "/");
    if (*end != '\0' && strcmp(end, "/") != 0)
        return 0;
    d = strlen(cfg->amocrm_domain);
    n = (size_t)(end - host);
    if (n <= d || strncasecmp(host, cfg->amocrm_domain, d) != 0)
        return 0;
    for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        if (n - d == strlen(hosts[i]) &&
            strncasecmp(host + d, hosts[i], n - d) == 0) {
            snprintf(buf, bufsz, "https://%.*s", (int)n, host);
            return 1;
        }
    }
    return 0;
}
