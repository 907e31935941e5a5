/*
 * schema.c: every statement parsed against the live schema, then a sale
 * written, read back and rolled back.
 */
#include <stdio.h>
#include <string.h>

#include "intake/classify.h"
#include "intake/sale.h"
#include "intake/schema.h"
#include "sql.h"
#include "db/store.h"

/* Appends "what: why" as a line of out unless why is there already (many
 * statements fail for one missing column); 1 when it was new. */
static int
note(char *out, size_t outsz, const char *what, const char *why)
{
    size_t used = strlen(out);
    const char *p = strstr(why, ": ");

    /* "statement failed: ERROR:  column ..." -> "column ..." */
    why = p != NULL && strncmp(why, "statement failed", 16) == 0 ? p + 2 : why;
    if (strncmp(why, "ERROR:  ", 8) == 0)
        why += 8;
    if (strstr(out, why) != NULL)
        return 0;
    if (used < outsz)
        snprintf(out + used, outsz - used, "%s: %s\n", what, why);
    return 1;
}

int
tr_schema_probe(struct tr_sale *sale, char *out, size_t outsz, char *msg,
                size_t msgsz)
{
    const struct tr_sql_statement *st;
    char why[512], what[96];
    enum tr_err err;
    int n = 0;

    if (outsz > 0)
        out[0] = '\0';
    /* the sale first: what it says is what a webhook would meet */
    err = tr_sale_probe(sale, TR_SOURCE_TRAFFIC, why, sizeof(why));
    if (err == TR_EDBDOWN || !tr_store_connected(sale->store))
        return tr_fail(msg, msgsz, TR_EDBDOWN, "%s", why), -1;
    if (err != TR_OK)
        n += note(out, outsz, "a sale", why);
    for (st = tr_sql_all; st->name != NULL; st++) {
        err = tr_store_parse(sale->store, st->text, why, sizeof(why));
        if (err == TR_EDBDOWN)
            return tr_fail(msg, msgsz, TR_EDBDOWN, "%s", why), -1;
        snprintf(what, sizeof(what), "statement %s", st->name);
        if (err != TR_OK)
            n += note(out, outsz, what, why);
    }
    return n;
}
