/*
 * test-leads: lead and UTM extraction from every example body (what each
 * must yield is in shared/spec/examples/README.md), strict ids, exact prices.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtraffic/base/config.h"
#include "libtraffic/intake/body.h"
#include "libtraffic/intake/leads.h"
#include "tap.h"

static char *
read_example(const char *name, size_t *len)
{
    const char *shared = getenv("TRAFFIC_SHARED");
    char path[1024];
    FILE *f;
    char *s;
    long n;

    snprintf(path, sizeof(path), "%s/spec/examples/%s",
             shared ? shared : "../shared", name);
    if ((f = fopen(path, "rb")) == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    s = malloc((size_t)n + 1);
    *len = fread(s, 1, (size_t)n, f);
    fclose(f);
    while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r'))
        (*len)--;
    s[*len] = '\0';
    return s;
}

static struct json_object *
parse(const char *body, size_t len)
{
    struct tr_body_limits lim;
    struct json_object *tree = NULL;
    char msg[256];

    tr_body_limits_init(&lim, TR_BODY_MAX_BYTES_DEFAULT);
    if (tr_body_parse(TR_BODY_FORM, body, len, &lim, &tree, msg, sizeof(msg)) !=
        TR_OK)
        printf("# parse: %s\n", msg);
    return tree;
}

static int
load(const char *name, struct tr_leads *leads, struct json_object **tree)
{
    char msg[256];
    size_t len;
    char *body = read_example(name, &len);

    tr_leads_init(leads);
    *tree = NULL;
    if (body == NULL) {
        ok(0, "%s readable (set TRAFFIC_SHARED)", name);
        return -1;
    }
    *tree = parse(body, len);
    free(body);
    if (*tree == NULL || tr_leads_extract(leads, *tree, NULL, TR_LEADS_MAX, msg,
                                          sizeof(msg)) != TR_OK) {
        ok(0, "%s extracts", name);
        return -1;
    }
    return 0;
}

static void
done(struct tr_leads *leads, struct json_object *tree)
{
    tr_leads_release(leads);
    json_object_put(tree);
}

static void
examples(void)
{
    struct tr_leads L;
    struct json_object *t;
    struct tr_lead *l;

    if (load("01-status-142-full.txt", &L, &t) == 0) {
        l = &L.v[0];
        ok(L.n == 1 && l->kind == TR_LEAD_CANDIDATE, "01: one candidate");
        ok(l->id == 25123456 && l->pipeline_id == 10418746 &&
               l->status_id == 142 && l->responsible_user_id == 8812345,
           "01: ids");
        is_str(l->event, "leads.status", "01: event");
        is_str(l->name, "TEST - Traffic Webhook", "01: name");
        is_str(l->price, "100000", "01: price exact");
        is_str(l->utm.v[TR_UTM_SOURCE], "kenesary_test", "01: utm_source");
        is_str(l->utm.v[TR_UTM_CAMPAIGN], "tripwire_dec20", "01: utm_campaign");
        is_str(l->utm.v[TR_UTM_MEDIUM], "cpc", "01: utm_medium");
        ok(l->utm.v[TR_UTM_TERM] == NULL, "01: no utm_term");
        is_str(L.subdomain, "onaiagencykz", "01: subdomain");
        is_str(L.account_self, "https://onaiagencykz.amocrm.ru", "01: self");
        done(&L, t);
    }
    if (load("02-status-142-short.txt", &L, &t) == 0) {
        l = &L.v[0];
        ok(L.n == 1 && l->id == 25123457 && l->status_id == 142 &&
               l->pipeline_id == 10418746,
           "02: short shape ids");
        ok(l->name == NULL && l->price[0] == '\0' && l->price_error == NULL,
           "02: no name, price unknown (not 0)");
        ok(l->utm.v[TR_UTM_SOURCE] == NULL && l->utm.v[TR_UTM_CAMPAIGN] == NULL,
           "02: no UTM");
        is_str(L.account_id, "31234567", "02: account id after the leads");
        done(&L, t);
    }
    if (load("03-update-142-cyrillic.txt", &L, &t) == 0) {
        l = &L.v[0];
        ok(L.n == 1 && l->id == 25123458 && l->status_id == 142,
           "03: update to 142");
        is_str(l->event, "leads.update", "03: event");
        ok(l->price[0] == '\0' && l->price_error == NULL,
           "03: empty price is unknown");
        is_str(l->utm.v[TR_UTM_MEDIUM], "", "03: UTM field without values");
        is_str(l->utm.v[TR_UTM_CAMPAIGN], "ЗАПУСК_Декабрь & <b>",
               "03: Cyrillic campaign as received");
        done(&L, t);
    }
    if (load("04-status-skipped.txt", &L, &t) == 0) {
        ok(L.n == 2 && L.v[0].id == 25123459 && L.v[0].pipeline_id == 9999999 &&
               L.v[1].id == 25123460 && L.v[1].status_id == 143,
           "04: two leads, each with its own pipeline and status");
        done(&L, t);
    }
    if (load("05-update-and-status-same-lead.txt", &L, &t) == 0) {
        ok(L.n == 2 && L.v[0].id == 25123456 && L.v[1].id == 25123456,
           "05: the same lead twice");
        is_str(L.v[0].event, "leads.status", "05: status first");
        is_str(L.v[1].event, "leads.update", "05: then update");
        done(&L, t);
    }
    if (load("06-contacts-update.txt", &L, &t) == 0) {
        ok(L.n == 0 && L.ignored == 1, "06: no leads, one ignored entity");
        is_str(L.ignored_what, "contacts.update", "06: what was ignored");
        done(&L, t);
    }
}

static void
strictness(void)
{
    static const struct {
        const char *s;
        long long want; /* -1: invalid */
    } ids[] = {
        {"123", 123},
        {"9223372036854775807", 9223372036854775807LL},
        {"9223372036854775808", -1},
        {"99999999999999999999", -1},
        {"0", -1},
        {"-1", -1},
        {"12a", -1},
        {"", -1},
        {" 1", -1},
        {"1.0", -1},
        {"+5", -1},
    };
    static const struct {
        const char *s;
        const char *want; /* NULL: invalid */
    } prices[] = {
        {"100000", "100000"},
        {"", ""},
        {"0", "0"},
        {"007", "7"},
        {"99.50", "99.5"},
        {"12.00", "12"},
        {"1e3", NULL},
        {"-5", NULL},
        {"1000000000000000000000000000000", NULL},
        {"1.234", NULL},
        {"9999999999999.99", "9999999999999.99"},
        /* numeric(15,2): 13 digits before the point, never 14 */
        {"10000000000000", NULL},
        {"00000000000001.5", "1.5"},
        {"12.05", "12.05"},
        {"0.05", "0.05"},
        {"0.50", "0.5"},
        {"abc", NULL},
        {".5", NULL},
        {"5.", NULL},
    };
    char out[TR_PRICE_MAX];
    const char *why;
    int64_t v;
    size_t i;

    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        int rc = tr_parse_id(ids[i].s, &v);

        ok(ids[i].want < 0 ? rc != 0 : rc == 0 && v == ids[i].want,
           "id \"%s\" %s", ids[i].s, ids[i].want < 0 ? "refused" : "parsed");
    }
    for (i = 0; i < sizeof(prices) / sizeof(prices[0]); i++) {
        why = tr_parse_price(prices[i].s, out);
        if (prices[i].want == NULL)
            ok(why != NULL, "price \"%.20s\" refused: %s", prices[i].s,
               why ? why : "-");
        else
            is_str(why ? why : out, prices[i].want, "price \"%s\"",
                   prices[i].s);
    }
}

static void
per_lead_errors(void)
{
    static const char body[] =
        "leads[status][0][id]=abc&leads[status][0][status_id]=142"
        "&leads[status][1][id]=99999999999999999999"
        "&leads[status][2][id]=7&leads[status][2][status_id]=x"
        "&leads[status][3][id]=8&leads[status][3][status_id]=142"
        "&leads[delete][0][id]=9&task[add][0][id]=1&message[add][0][id]=u";
    struct tr_leads L;
    struct json_object *t = parse(body, sizeof(body) - 1);
    char msg[256];

    tr_leads_init(&L);
    ok(tr_leads_extract(&L, t, NULL, TR_LEADS_MAX, msg, sizeof(msg)) == TR_OK,
       "a body with bad leads still extracts");
    ok(L.n == 5, "five leads seen");
    ok(L.v[0].kind == TR_LEAD_INVALID && strstr(L.v[0].error, "64-bit"),
       "non-numeric id: that lead is an error (%s)", L.v[0].error);
    ok(L.v[1].kind == TR_LEAD_INVALID, "overflowing id: error");
    ok(L.v[2].kind == TR_LEAD_INVALID, "non-numeric status_id: error");
    ok(L.v[3].kind == TR_LEAD_CANDIDATE && L.v[3].id == 8,
       "the good lead is kept");
    ok(L.v[4].kind == TR_LEAD_DELETED && L.v[4].id == 9,
       "leads.delete: a deletion of lead 9");
    is_str(L.v[4].event, "leads.delete", "with its event name");
    ok(L.ignored == 2, "task and message entities ignored");
    tr_leads_release(&L);
    json_object_put(t);
}

static void
event_shapes(void)
{
    static const char body[] =
        "{\"leads\":{\"status\":{\"a\":{\"id\":\"1\"},\"b\":{\"id\":\"2\"}},"
        "\"update\":{\"id\":\"3\",\"status_id\":\"142\"}}}";
    struct tr_body_limits lim;
    struct tr_leads L;
    struct json_object *t = NULL;
    char msg[256];

    tr_body_limits_init(&lim, TR_BODY_MAX_BYTES_DEFAULT);
    tr_body_parse(TR_BODY_JSON, body, sizeof(body) - 1, &lim, &t, msg,
                  sizeof(msg));
    tr_leads_init(&L);
    ok(tr_leads_extract(&L, t, NULL, TR_LEADS_MAX, msg, sizeof(msg)) == TR_OK &&
           L.n == 3,
       "items under names, and a lead without an index");
    ok(L.n == 3 && L.v[0].id == 1 && L.v[1].id == 2 && L.v[2].id == 3 &&
           L.v[2].status_id == 142,
       "each read in order");
    tr_leads_release(&L);
    json_object_put(t);
}

static void
too_many(void)
{
    struct tr_leads L;
    struct json_object *t;
    char msg[256], *body = malloc(5000 * 40);
    size_t len = 0, i;

    for (i = 0; i < 5000; i++)
        len += (size_t)snprintf(body + len, 40, "%sleads[add][%zu][id]=%zu",
                                i ? "&" : "", i, i + 1);
    t = parse(body, len);
    tr_leads_init(&L);
    ok(tr_leads_extract(&L, t, NULL, TR_LEADS_MAX, msg, sizeof(msg)) ==
           TR_ETOOBIG,
       "5,000 leads in one body: refused (%s)", msg);
    tr_leads_release(&L);
    json_object_put(t);
    free(body);
}

static void
utm_map(void)
{
    static const char body[] =
        "leads[add][0][id]=1"
        "&leads[add][0][custom_fields][0][id]=555"
        "&leads[add][0][custom_fields][0][name]=Название РК"
        "&leads[add][0][custom_fields][0][values][0][value]=kenji_spring"
        "&leads[add][0][custom_fields][1][id]=556"
        "&leads[add][0][custom_fields][1][name]=Источник"
        "&leads[add][0][custom_fields][1][values][0][value]=insta"
        "&leads[add][0][custom_fields][2][id]=557"
        "&leads[add][0][custom_fields][2][name]=UTM_Term"
        "&leads[add][0][custom_fields][2][values][0]=t1";
    struct tr_utm_map map;
    struct tr_leads L;
    struct json_object *t = parse(body, sizeof(body) - 1);
    char msg[256];

    tr_utm_map_init(&map);
    ok(tr_utm_map_parse(&map, "utm_campaign=555, utm_source=источник", msg,
                        sizeof(msg)) == TR_OK &&
           map.n == 2,
       "UTM_FIELDS parses ids and names");
    tr_leads_init(&L);
    tr_leads_extract(&L, t, &map, TR_LEADS_MAX, msg, sizeof(msg));
    is_str(L.v[0].utm.v[TR_UTM_CAMPAIGN], "kenji_spring",
           "configured field id gives utm_campaign");
    is_str(L.v[0].utm.v[TR_UTM_SOURCE], "insta",
           "configured names match with Unicode case folding");
    is_str(L.v[0].utm.v[TR_UTM_TERM], "t1",
           "name match is case-insensitive; scalar values[0] read");
    tr_leads_release(&L);
    tr_utm_map_release(&map);
    tr_utm_map_init(&map);
    ok(tr_utm_map_parse(&map, "campaign=5", msg, sizeof(msg)) != TR_OK,
       "bad UTM_FIELDS refused: %s", msg);
    tr_utm_map_release(&map);
    json_object_put(t);
}

/* Lead times: units and the future (tr_lead_time, tr_lead_time_ahead). */
static void
lead_times(void)
{
    static const struct {
        int64_t raw, want;
    } units[] = {
        {0, 0},
        {-5, 0},
        {1700000000, 1700000000},
        {1700000000123, 1700000000},                /* milliseconds */
        {1700000000123456, 1700000000},             /* microseconds */
        {INT64_C(9223372036854775807), 9223372036}, /* 2^63-1 */
        {99999999999, 99999999999}, /* the largest read as it is */
    };
    size_t i;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        ok(tr_lead_time(units[i].raw) == units[i].want,
           "tr_lead_time(%lld) = %lld", (long long)units[i].raw,
           (long long)units[i].want);
    ok(!tr_lead_time_ahead(1000 + TR_LEAD_SKEW_S, 1000),
       "a time the skew ahead is trusted");
    ok(tr_lead_time_ahead(1001 + TR_LEAD_SKEW_S, 1000), "a second more is not");
    ok(!tr_lead_time_ahead(5, 1000), "the past is");
}

int
main(void)
{
    lead_times();
    examples();
    strictness();
    per_lead_errors();
    event_shapes();
    too_many();
    utm_map();
    return done_testing();
}
