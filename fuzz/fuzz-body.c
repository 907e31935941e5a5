/*
 * fuzz-body: libFuzzer target for the body parser and lead extraction.
 *
 * The first input byte picks the body type (even: form, odd: JSON); the
 * rest is the body.  Everything a request goes through before the database
 * runs: parse, extract leads with a UTM map, match targetologists, render
 * the message, sanitise the body for the log.  Built with --enable-fuzzing
 * (clang) it is a libFuzzer binary; built with -DTR_FUZZ_MAIN it replays
 * the files named on its command line (the regression inputs in
 * fuzz/regressions/ run in the unit suite this way).
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtraffic/intake/body.h"
#include "libtraffic/base/buf.h"
#include "libtraffic/base/config.h"
#include "libtraffic/intake/leads.h"
#include "libtraffic/outgoing/render.h"
#include "libtraffic/base/rules.h"
#include "libtraffic/intake/pipeline.h"
#include "libtraffic/base/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tr_rules rules;
static struct tr_utm_map map;
static int ready;

static void
setup(void)
{
    char msg[256];

    if (ready)
        return;
    if (tr_rules_init_default(&rules, msg, sizeof(msg)) != TR_OK)
        abort();
    tr_utm_map_init(&map);
    if (tr_utm_map_parse(&map, "utm_campaign=555,utm_source=Источник", msg,
                         sizeof(msg)) != TR_OK)
        abort();
    ready = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tr_body_limits lim;
    struct json_object *tree = NULL;
    struct tr_leads leads;
    struct tr_buf logbody;
    char msg[256];
    size_t i;

    setup();
    if (size < 1)
        return 0;
    tr_body_limits_init(&lim, TR_BODY_MAX_BYTES_DEFAULT);
    tr_buf_init(&logbody, TR_LOG_BODY_MAX + 64);
    tr_text_sanitize(&logbody, (const char *)data + 1, size - 1,
                     TR_LOG_BODY_MAX);
    tr_buf_release(&logbody);
    if (tr_body_parse(data[0] & 1 ? TR_BODY_JSON : TR_BODY_FORM,
                      (const char *)data + 1, size - 1, &lim, &tree, msg,
                      sizeof(msg)) != TR_OK)
        return 0;
    tr_leads_init(&leads);
    if (tr_leads_extract(&leads, tree, &map, TR_LEADS_MAX, msg, sizeof(msg)) ==
        TR_OK) {
        for (i = 0; i < leads.n; i++) {
            const struct tr_lead *l = &leads.v[i];
            const struct tr_rule *r;
            struct tr_sale_view v;
            char *text = NULL;

            if (l->kind != TR_LEAD_CANDIDATE)
                continue;
            r = tr_rules_match(&rules, l->utm.v[TR_UTM_CAMPAIGN],
                               l->utm.v[TR_UTM_SOURCE]);
            v.emoji = r->emoji;
            v.targetologist = r->name;
            v.client = l->name;
            v.price = l->price;
            v.currency = "KZT";
            v.product = "p";
            v.campaign = l->utm.v[TR_UTM_CAMPAIGN];
            if (tr_render_message(&v, 1, &text) == TR_OK &&
                tr_render_length(text) >= TR_TELEGRAM_TEXT_MAX)
                abort();
            free(text);
            json_object_to_json_string_ext(l->raw, JSON_C_TO_STRING_PLAIN);
        }
    }
    tr_leads_release(&leads);
    json_object_put(tree);
    return 0;
}

#ifdef TR_FUZZ_MAIN
int
main(int argc, char **argv)
{
    int i, n = 0;

    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *buf;
        long len;

        if (f == NULL) {
            printf("not ok %d - open %s\n", ++n, argv[i]);
            continue;
        }
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        rewind(f);
        buf = malloc((size_t)len + 1);
        if (fread(buf, 1, (size_t)len, f) != (size_t)len)
            len = 0;
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)len);
        free(buf);
        printf("ok %d - %s\n", ++n, argv[i]);
    }
    printf("1..%d\n", n);
    tr_rules_release(&rules);
    tr_utm_map_release(&map);
    return 0;
}
#endif
