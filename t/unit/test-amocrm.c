/*
 * test-amocrm: real AmoCRM API answers (shared/corpus/amocrm-api) and our
 * fixtures read defensively: null custom_fields_values, no _embedded,
 * tracking-data UTM fields, the main contact, phone and e-mail, and
 * answers that are not a lead at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtraffic/outgoing/amocrm.h"
#include "libtraffic/base/buf.h"
#include "tap.h"

static char *
read_json(const char *dir, const char *name, size_t *len)
{
    char path[1024], msg[256];
    struct tr_buf b;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    tr_buf_init(&b, 1024 * 1024);
    if (tr_buf_read_file(&b, path, msg, sizeof(msg)) != TR_OK) {
        diag(msg);
        tr_buf_release(&b);
        return NULL;
    }
    *len = b.len;
    return tr_buf_detach(&b);
}

/* The events API's answers: deletions and restorations, nothing else. */
static void
events(void)
{
    struct tr_amo_events ev;
    const char *s =
        "{\"_links\":{\"next\":{\"href\":\"x\"}},\"_embedded\":{\"events\":["
        "{\"type\":\"lead_deleted\",\"entity_id\":7,\"created_at\":1700000000},"
        "{\"type\":\"lead_restored\",\"entity_id\":7,"
        "\"created_at\":1700000100000},"
        "{\"type\":\"lead_status_changed\",\"entity_id\":8,"
        "\"created_at\":1700000000},"
        "{\"type\":\"lead_deleted\",\"entity_id\":9},"
        "{\"type\":\"lead_deleted\",\"created_at\":1700000000},"
        "{\"type\":\"lead_deleted\",\"entity_id\":10,"
        "\"created_at\":4102444800}]}}";

    ok(tr_amocrm_parse_events(s, strlen(s), &ev) == 0, "an events answer");
    ok(ev.n == 2,
       "only deletions and restorations with a lead and a time "
       "(not a status change, not one without either, not one "
       "from 2100): %zu",
       ev.n);
    ok(ev.n == 2 && ev.v[0].lead_id == 7 && ev.v[0].deleted &&
           ev.v[0].created_at == 1700000000,
       "the deletion");
    ok(ev.n == 2 && !ev.v[1].deleted && ev.v[1].created_at == 1700000100,
       "the restoration, its millisecond time read as seconds");
    ok(ev.more, "_links.next: another page");
    tr_amo_events_release(&ev);
    ok(tr_amocrm_parse_events("{\"_embedded\":{}}", 15, &ev) == -1,
       "no events list: not an answer");
    tr_amo_events_release(&ev);
}

/* Answers of shapes the API should not send, each read as far as it goes. */
static void
odd_shapes(void)
{
    static const struct {
        const char *json, *price;
    } prices[] = {
        {"{\"id\":1,\"price\":100000}", "100000"},
        {"{\"id\":1,\"price\":1234.5}", "1234.5"},
        {"{\"id\":1,\"price\":\"5000\"}", "5000"},
        {"{\"id\":1,\"price\":true}", ""},
        {"{\"id\":1,\"price\":\"-5\"}", ""},
    };
    struct tr_amo_contact c;
    struct tr_amo_leads leads;
    struct tr_amo_hooks hooks;
    struct tr_amo_lead lead;
    const char *s;
    size_t i;

    for (i = 0; i < sizeof(prices) / sizeof(prices[0]); i++) {
        ok(tr_amocrm_parse_lead(prices[i].json, strlen(prices[i].json), NULL,
                                &lead) == 0 &&
               strcmp(lead.price, prices[i].price) == 0,
           "%s: price \"%s\"", prices[i].json, lead.price);
        tr_amo_lead_release(&lead);
    }
    s = "{\"id\":2,\"custom_fields_values\":[{\"values\":[{\"value\":\"x\"}]},"
        "{\"field_code\":\"PHONE\",\"values\":[]},"
        "{\"field_code\":\"PHONE\",\"values\":{\"value\":\"+1\"}},"
        "{\"field_code\":\"EMAIL\",\"values\":[{\"value\":\"a@b.kz\"}]}]}";
    ok(tr_amocrm_parse_contact(s, strlen(s), &c) == 0 && c.phone == NULL &&
           c.email != NULL && strcmp(c.email, "a@b.kz") == 0,
       "a contact's fields without a code, or with no value list: no phone");
    tr_amo_contact_release(&c);
    s = "{\"id\":3,\"custom_fields_values\":\"none\"}";
    ok(tr_amocrm_parse_contact(s, strlen(s), &c) == 0 && c.phone == NULL,
       "custom_fields_values not a list: no phone");
    tr_amo_contact_release(&c);
    ok(tr_amocrm_parse_contact("{\"name\":\"x\"}", 12, &c) == -1,
       "a contact without an id is none");
    tr_amo_contact_release(&c);

    s = "{\"_embedded\":{\"leads\":[{\"id\":7},{\"name\":\"no id\"},"
        "{\"id\":8}]},\"_links\":{\"next\":{\"href\":\"https://x/?page=2\"}}}";
    ok(tr_amocrm_parse_leads(s, strlen(s), NULL, &leads) == 0 && leads.n == 2 &&
           leads.v[1].id == 8 && leads.more,
       "a leads page: a lead without an id left out, a next page");
    tr_amo_leads_release(&leads);
    s = "{\"_embedded\":{\"leads\":{}}}";
    ok(tr_amocrm_parse_leads(s, strlen(s), NULL, &leads) == -1,
       "leads that are no list: not a leads answer");
    tr_amo_leads_release(&leads);

    s = "{\"_embedded\":{\"webhooks\":[{\"destination\":\"https://a/\","
        "\"disabled\":true},{\"settings\":[]},{\"destination\":\"https://b/"
        "\"}]}}";
    ok(tr_amocrm_parse_hooks(s, strlen(s), &hooks) == 0 && hooks.n == 2 &&
           hooks.v[0].disabled && !hooks.v[1].disabled &&
           strcmp(hooks.v[1].destination, "https://b/") == 0,
       "hooks: one without a destination left out, disabled read");
    tr_amo_hooks_release(&hooks);
    ok(tr_amocrm_parse_hooks("{}", 2, &hooks) == -1, "no webhooks: none");
    tr_amo_hooks_release(&hooks);
}

int
main(void)
{
    const char *shared = getenv("TRAFFIC_SHARED");
    const char *src = getenv("TRAFFIC_SRCDIR");
    char api[1024], fix[1024], *s;
    struct tr_amo_lead lead;
    struct tr_amo_contact c;
    size_t len;

    snprintf(api, sizeof(api), "%s/corpus/amocrm-api",
             shared ? shared : "../shared");
    snprintf(fix, sizeof(fix), "%s/t/fixtures/amocrm", src ? src : ".");

    s = read_json(api,
                  "02-lead-by-id-with-contacts-is_main-official-doc-"
                  "example.json",
                  &len);
    ok(s && tr_amocrm_parse_lead(s, len, NULL, &lead) == 0,
       "the documented lead parses");
    ok(lead.status_id == 143 && lead.pipeline_id == 3104455 &&
           lead.responsible_user_id == 504141,
       "status, pipeline, user");
    is_str(lead.price, "12", "an integer price");
    is_str(lead.name, "Example", "the name");
    ok(lead.main_contact == 10971465, "the main contact");
    ok(lead.utm.v[0] == NULL, "null custom_fields_values: no UTM");
    tr_amo_lead_release(&lead);
    free(s);

    s = read_json(api,
                  "03-lead-by-id-official-doc-example-date-field-"
                  "amocrm-com-ua.json",
                  &len);
    ok(s && tr_amocrm_parse_lead(s, len, NULL, &lead) == 0 &&
           lead.main_contact == 0,
       "no contacts in _embedded: none");
    tr_amo_lead_release(&lead);
    free(s);

    s = read_json(api,
                  "01-leads-list-real-capture-hexlet-tracking_data-"
                  "fields.json",
                  &len);
    ok(s && tr_amocrm_parse_lead(s, len, NULL, &lead) == -1,
       "a list is not a lead");
    tr_amo_lead_release(&lead);
    free(s);

    s = read_json(api,
                  "04-contact-by-id-official-kommo-example-phone-"
                  "multitext.json",
                  &len);
    ok(s && tr_amocrm_parse_contact(s, len, &c) == 0, "a contact parses");
    is_str(c.name, "John Doe", "its name");
    is_str(c.phone, "+14155551234", "its phone");
    ok(c.email == NULL, "no e-mail field: none");
    tr_amo_contact_release(&c);
    free(s);

    s = read_json(fix, "leads/25123456.json", &len);
    ok(s && tr_amocrm_parse_lead(s, len, NULL, &lead) == 0, "fixture lead");
    is_str(lead.utm.v[TR_UTM_CAMPAIGN], "tripwire_dec20",
           "UTM from tracking_data by field_code");
    is_str(lead.price, "100000", "price");
    ok(lead.main_contact == 900001, "is_main wins over the first contact");
    tr_amo_lead_release(&lead);
    free(s);

    s = read_json(fix, "leads/33000001.json", &len);
    ok(s && tr_amocrm_parse_lead(s, len, NULL, &lead) == 0 &&
           lead.main_contact == 0,
       "no _embedded at all: no contact");
    tr_amo_lead_release(&lead);
    free(s);

    ok(tr_amocrm_parse_lead("{\"id\":", 6, NULL, &lead) == -1,
       "truncated JSON");
    tr_amo_lead_release(&lead);
    ok(tr_amocrm_parse_lead("[1]", 3, NULL, &lead) == -1, "an array");
    tr_amo_lead_release(&lead);
    s = "{\"id\":5,\"price\":\"many\",\"name\":[],\"status_id\":{},"
        "\"custom_fields_values\":{\"a\":1},\"_embedded\":{\"contacts\":7}}";
    ok(tr_amocrm_parse_lead(s, strlen(s), NULL, &lead) == 0 &&
           lead.price[0] == '\0' && lead.name == NULL && lead.status_id == 0 &&
           lead.main_contact == 0,
       "every field of the wrong type is simply unknown");
    tr_amo_lead_release(&lead);
    odd_shapes();
    events();
    return done_testing();
}
