/*
 * rates.c: the NBK's rates, parsed with libxml2 (rates.h).
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/num.h"
#include "outgoing/rates.h"

static int
named(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE &&
           strcmp((const char *)n->name, name) == 0;
}

/* The text of the child element name of n, trimmed, into buf. */
static void
child_text(const xmlNode *n, const char *name, char *buf, size_t bufsz)
{
    const xmlNode *c;
    xmlChar *t;
    const char *s;
    size_t len;

    buf[0] = '\0';
    for (c = n->children; c != NULL; c = c->next) {
        if (!named(c, name))
            continue;
        if ((t = xmlNodeGetContent(c)) == NULL)
            return;
        s = (const char *)t;
        s += strspn(s, " \t\r\n");
        len = strlen(s);
        while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
            len--;
        snprintf(buf, bufsz, "%.*s", (int)len, s);
        xmlFree(t);
        return;
    }
}

/* "DD.MM.YYYY" into "YYYY-MM-DD"; 0, or -1. */
static int
iso_day(const char *ru, char *out, size_t outsz)
{
    if (strlen(ru) != 10 || ru[2] != '.' || ru[5] != '.' ||
        strspn(ru, "0123456789.") != 10)
        return -1;
    snprintf(out, outsz, "%.4s-%.2s-%.2s", ru + 6, ru + 3, ru);
    return 0;
}

/* One <item> into r: 0, or -1 when it is not a usable rate. */
static int
item(const xmlNode *n, struct tr_rate *r)
{
    char title[32], desc[64], quant[32], price[TR_PRICE_MAX];
    int64_t q;

    child_text(n, "title", title, sizeof(title));
    child_text(n, "description", desc, sizeof(desc));
    child_text(n, "quant", quant, sizeof(quant));
    if (strlen(title) != 3 ||
        strspn(title, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3 ||
        tr_parse_price(desc, price) != NULL || price[0] == '\0' ||
        strspn(price, "0.") == strlen(price))
        return -1;
    if (quant[0] == '\0')
        q = 1;
    else if (tr_parse_id(quant, &q) != 0 || q > 1000000)
        return -1;
    snprintf(r->currency, sizeof(r->currency), "%.3s", title);
    snprintf(r->rate, sizeof(r->rate), "%s", price);
    r->quant = (long)q;
    return 0;
}

enum tr_err
tr_rates_parse(const char *xml, size_t n, struct tr_rates *out, char *msg,
               size_t msgsz)
{
    xmlDoc *doc;
    const xmlNode *root, *c;
    char date[32];

    memset(out, 0, sizeof(*out));
    if (xml == NULL || n == 0 || n > 4 * 1024 * 1024)
        return tr_fail(msg, msgsz, TR_EINVAL,
                       "rates: an empty answer, or over 4 MiB");
    /* no network, no entities, no DTD: only the document itself */
    doc = xmlReadMemory(xml, (int)n, "rates.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING);
    if (doc == NULL)
        return tr_fail(msg, msgsz, TR_EINVAL, "rates: not XML");
    root = xmlDocGetRootElement(doc);
    if (root == NULL || !named(root, "rates")) {
        xmlFreeDoc(doc);
        return tr_fail(msg, msgsz, TR_EINVAL, "rates: no <rates> element");
    }
    child_text(root, "date", date, sizeof(date));
    if (date[0] != '\0' && iso_day(date, out->date, sizeof(out->date)) != 0) {
        xmlFreeDoc(doc);
        return tr_fail(msg, msgsz, TR_EINVAL,
                       "rates: a date \"%.20s\" not "
                       "DD.MM.YYYY",
                       date);
    }
    for (c = root->children; c != NULL && out->n < TR_RATES_MAX; c = c->next)
        if (named(c, "item") && item(c, &out->v[out->n]) == 0)
            out->n++;
    xmlFreeDoc(doc);
    return TR_OK;
}

enum tr_err
tr_rates_fetch(struct tr_http *http, const char *base, const char *day,
               long timeout_ms, struct tr_rates *out, char *msg, size_t msgsz)
{
    char url[1200];
    enum tr_err err;

    if (strlen(day) != 10)
        return tr_fail(msg, msgsz, TR_EINVAL, "rates: a day is YYYY-MM-DD");
    snprintf(url, sizeof(url), "%s/get_rates.cfm?fdate=%.2s.%.2s.%.4s", base,
             day + 8, day + 5, day);
    if ((err = tr_http_request(http, url, NULL, NULL, timeout_ms, NULL, msg,
                               msgsz)) != TR_OK)
        return err;
    if (http->status != 200)
        return tr_fail(msg, msgsz, TR_ENET, "rates: HTTP %ld for %s",
                       http->status, day);
    return tr_rates_parse(http->answer.data, http->answer.len, out, msg, msgsz);
}
