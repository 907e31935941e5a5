"""The mutations of scripts/mutate: each a deliberate bug in something the
service promises, the code it changes (file, the text found once, its
replacement) and the test files that must catch it.  "equivalent" marks a
change no test can tell from the original, with the reason."""


def m(name, what, edits, tests, equivalent=None):
    return {"name": name, "what": what, "edits": edits, "tests": tests,
            "equivalent": equivalent}


LEADS = "src/libtraffic/leads.c"
SECRET = "src/libtraffic/secret.c"
RENDER = "src/libtraffic/render.c"
TELEGRAM = "src/libtraffic/telegram.c"
SPOOL = "src/libtraffic/spool.c"

MUTATIONS = [
    # ids and money
    m("price-fraction-zero", "a price of 12.05 stored as 12.5",
      [(LEADS, "        memcpy(out + i, frac, flen);\n",
        "        memcpy(out + i, frac + (flen > 1 && frac[0] == '0'),\n"
        "               flen - (flen > 1 && frac[0] == '0'));\n"
        "        flen -= flen > 1 && frac[0] == '0';\n")],
      ["t/002-leads.t"]),
    m("price-13-digits", "the price limit of 13 integer digits moved to 14",
      [(LEADS, "if (ilen > 13 || flen > 2)", "if (ilen > 14 || flen > 2)")],
      ["t/002-leads.t"]),
    m("price-cents", "three decimals accepted",
      [(LEADS, "if (ilen > 13 || flen > 2)", "if (ilen > 13 || flen > 3)")],
      ["t/002-leads.t"]),
    m("price-leading-zeros", "leading zeros kept",
      [(LEADS, "    while (ilen > 1 && *s == '0') {", "    while (0) {")],
      ["t/002-leads.t"]),
    m("id-letters", "a lead id with letters accepted",
      [(LEADS, "        if (s[i] < '0' || s[i] > '9')\n            return -1;\n"
        "        v = v * 10",
        "        if (s[i] < '0' || s[i] > 'z')\n            return -1;\n"
        "        v = v * 10")],
      ["t/002-leads.t"]),
    m("id-zero", "lead id 0 accepted",
      [(LEADS, "if (v == 0 || v > (uint64_t)INT64_MAX)",
        "if (v > (uint64_t)INT64_MAX)")],
      ["t/002-leads.t"]),
    m("sale-status", "another status counted as won",
      [("src/libtraffic/classify.c",
        "    else if (l->status_id != cfg->status_id)",
        "    else if (l->status_id == 1)")],
      ["t/020-seed.t", "t/021-examples.t"]),
    m("sale-pipeline", "another pipeline's won deal counted",
      [("src/libtraffic/classify.c",
        "    else if (l->pipeline_id != cfg->pipeline_id)",
        "    else if (l->pipeline_id == 1)")],
      ["t/020-seed.t", "t/021-examples.t"]),
    # body parsing limits
    m("body-key-length", "a key over the limit accepted",
      [("src/libtraffic/body.c", "    if (klen > ps->lim->max_key)",
        "    if (klen > ps->lim->max_key * 4)")],
      ["t/001-body.t"]),
    m("body-depth", "a key nested deeper than the limit accepted",
      [("src/libtraffic/body.c", "    if (nseg == -2)\n", "    if (0)\n")],
      ["t/001-body.t"]),
    m("body-utf8", "invalid UTF-8 in a value accepted",
      [("src/libtraffic/body.c", "!utf8_ok(key, klen) || !utf8_ok(val, vlen)",
        "!utf8_ok(key, klen)")],
      ["t/001-body.t"]),
    m("body-413", "a body over WEBHOOK_MAX_BODY read instead of refused",
      [("src/libtraffic/router.c",
        "    if ((unsigned long long)req->content_length >\n"
        "        r->pipeline.limits.max_bytes) {",
        "    if ((unsigned long long)req->content_length >\n"
        "        r->pipeline.limits.max_bytes * 64) {")],
      ["t/043-hostile.t"]),
    # attribution and case folding
    m("rules-order", "every rule tried on the campaign before any on the"
      " source",
      [("src/libtraffic/rules.c",
        "    for (i = 0; i < rules->n; i++) {\n"
        "        if ((c != NULL && rule_hits(&rules->v[i], c, cn)) ||\n"
        "            (s != NULL && rule_hits(&rules->v[i], s, sn))) {\n"
        "            hit = &rules->v[i];",
        "    for (i = 0; i < 2 * rules->n; i++) {\n"
        "        if (i < rules->n ? c != NULL && rule_hits(&rules->v[i], c, cn)\n"
        "                         : s != NULL &&\n"
        "                               rule_hits(&rules->v[i - rules->n], s, sn)) {\n"
        "            hit = &rules->v[i % rules->n];")],
      ["t/003-rules.t"]),
    m("rules-source", "utm_source never looked at",
      [("src/libtraffic/rules.c", "    s = fold(source, b2, sizeof(b2), &sn);",
        "    s = NULL;")],
      ["t/003-rules.t"]),
    m("casefold-ascii", "lower case instead of case folding (no NFC, no ß to ss)",
      [("src/libtraffic/rules.c",
        "    r = u8_casefold((const uint8_t *)s, n, NULL, UNINORM_NFC, NULL, &len);",
        "    r = u8_tolower((const uint8_t *)s, n, NULL, NULL, NULL, &len);")],
      ["t/003-rules.t"]),
    # escaping and message length
    m("escape-lt", "< not escaped in a message",
      [(RENDER, '            err = tr_buf_adds(dst, "&lt;");',
        '            err = tr_buf_adds(dst, "<");')],
      ["t/004-render.t"]),
    m("escape-amp-length", "& counted as five characters when a field is cut",
      [(RENDER, '            err = tr_buf_adds(dst, "&amp;");',
        '            err = tr_buf_adds(dst, "&amp;");\n            chars += 4;')],
      ["t/004-render.t"]),
    m("cut-ellipsis", "a cut field without its ellipsis",
      [(RENDER, '            return tr_buf_adds(dst, "\\xE2\\x80\\xA6"); /* … */',
        "            return TR_OK;")],
      ["t/004-render.t"]),
    m("thousands", "the thousands separator every four digits",
      [(RENDER, "        if (i > 0 && (ilen - i) % 3 == 0)",
        "        if (i > 0 && (ilen - i) % 4 == 0)")],
      ["t/004-render.t"]),
    # secrets
    m("secret-longer", "the webhook token followed by extra characters"
      " accepted",
      [(SECRET, "    unsigned char d = g != n;", "    unsigned char d = g < n;")],
      ["t/042-access.t"]),
    m("secret-prefix", "a prefix of the admin token (even none) accepted",
      [(SECRET, "    unsigned char d = g != n;", "    unsigned char d = g > n;"),
       (SECRET, "        d |= (unsigned char)((i < g ? given[i] : 0) ^ secret[i]);",
        "        d |= (unsigned char)(i < g ? given[i] ^ secret[i] : 0);")],
      ["t/051-admin.t"]),
    m("mask-first-param", "?password= as the first parameter left unmasked",
      [(SECRET, 'strchr(uri ? "?&" : " \\t", p[-1])',
        'strchr(uri ? "&" : " \\t", p[-1])')],
      ["t/005-config.t", "t/012-ctl.t"]),
    m("mask-userinfo", "the password in user:password@ left unmasked",
      [(SECRET, '            put(buf, bufsz, &o, "***", 3);\n            p = at;',
        "            p = colon + 1;")],
      ["t/005-config.t", "t/012-ctl.t"]),
    m("token-scrub", "the bot token left in an error message",
      [("src/libtraffic/http.c", "            tr_http_scrub(msg, secret);",
        "            (void)secret;")],
      ["t/031-telegram-errors.t", "t/044-apis-down.t"],
      equivalent="no error libcurl 7.88 writes names the URL's path, where"
      " the token is: the scrub is a defence no test can provoke"),
    # HTTP answers of our own
    m("head-body", "HEAD answered with a body",
      [("src/traffic-webhook.c",
        'respond(io, &resp, req.method != NULL && strcmp(req.method, "HEAD") == 0);',
        "respond(io, &resp, 0);"),
       ("src/libtraffic/router.c",
        '    if (strcmp(m, "HEAD") == 0) {\n        resp->status = 200;\n    } else if',
        '    if (strcmp(m, "HEAD") == 0) {\n        answer_test(r, health, resp);\n    } else if')],
      ["t/020-seed.t"]),
    m("method-405", "GET on the webhook path processed as a delivery",
      [("src/libtraffic/router.c",
        '        resp->allow = "POST, HEAD";\n'
        '        tr_response_error(resp, 405, "method not allowed");',
        '        resp->allow = "POST, HEAD";\n'
        '        tr_response_error(resp, 200, "method not allowed");')],
      ["t/020-seed.t", "t/043-hostile.t"]),
    # Telegram: the request, retries, pacing
    m("chat-id-string", "chat_id sent to Telegram as a JSON string",
      [(TELEGRAM, "            o, \"chat_id\", json_object_new_int64(chat[0] == '-' ? -id : id));",
        '            o, "chat_id", json_object_new_string(chat));')],
      ["t/007-telegram.t", "t/030-telegram.t"]),
    m("retry-after-thrice", "a 429's retry_after waited three times over",
      [("src/libtraffic/notify.c", "        return retry_after * 1000;",
        "        return retry_after * 3000;")],
      ["t/031-telegram-errors.t"]),
    m("retry-5xx-permanent", "a 5xx taken as a permanent failure",
      [(TELEGRAM, "    if (status == 429 || status >= 500 || status < 400 || o == NULL) {",
        "    if (status == 429 || status < 400 || o == NULL) {")],
      ["t/007-telegram.t", "t/031-telegram-errors.t"]),
    m("plain-text-resend", "a message Telegram cannot parse never resent as"
      " plain text",
      [(TELEGRAM, "    if (status == 400 && contains(desc, \"can't parse entities\")) {",
        "    if (status == 401 && contains(desc, \"can't parse entities\")) {")],
      ["t/007-telegram.t", "t/031-telegram-errors.t"]),
    m("pacing-interval", "TELEGRAM_CHAT_INTERVAL_MS not kept between two"
      " messages",
      [("sql/011_outbox_release.sql",
        "        v_next := now() + p_interval_ms * interval '1 millisecond';",
        "        v_next := now();")],
      ["t/032-telegram-pacing.t"]),
    m("pacing-group-minute", "a group's 20 a minute let through",
      [("sql/011_outbox_release.sql",
        "v_recent[1] + interval '60 seconds');",
        "v_recent[1] + interval '1 second');")],
      ["t/032-telegram-pacing.t"]),
    # a combined message's other sales, recorded all at once
    m("record-batch-release", "a combined message's other sales leave their"
      " waiting edits and replies held",
      [("sql/013_outbox_record_batch.sql",
        "      AND w.status = 'pending' AND m.id = w.reply_to;",
        "      AND false AND m.id = w.reply_to;")],
      ["t/062-record-batch.t"]),
    m("record-batch-status", "a combined message's other sales never sent",
      [("sql/013_outbox_record_batch.sql",
        "                                   WHEN a.pending = 0 THEN 'sent'",
        "                                   WHEN a.pending < 0 THEN 'sent'")],
      ["t/062-record-batch.t"]),
    m("outbox-analyze-never", "the sidecar leaves the planner counting on an"
      " empty pending index through a burst",
      [("src/libtraffic/outbox.c", "planned[0] < 0 || planned[0] * 4 >= (double)pending)",
        "planned[0] < 0 || planned[0] * 4 >= 0)")],
      ["t/061-plans.t"]),
    m("commit-not-raised", "a session given synchronous_commit off keeps it,"
      " so a PostgreSQL crash can lose a sale answered 200",
      [("src/libtraffic/sql/session_commit.sql",
        "THEN set_config('synchronous_commit', 'local', false) END",
        "THEN current_setting('synchronous_commit') END")],
      ["t/012-ctl.t"]),
    m("schema-version-behind", "the build's schema older than sql/'s newest",
      [("src/libtraffic/migrate.h", '#define TR_SCHEMA_VERSION "0',
        '#define TR_SCHEMA_VERSION "00')],
      ["t/056-health-metrics.t"]),
    # AmoCRM: the rate and confirmation
    m("amocrm-rate", "AMOCRM_RATE exceeded (slots half as far apart)",
      [("sql/007_sale_life.sql",
        "    SET next_at = greatest(next_at, clock_timestamp())\n"
        "                  + interval '1.05 second' / p_per_second",
        "    SET next_at = greatest(next_at, clock_timestamp())\n"
        "                  + interval '0.5 second' / p_per_second")],
      ["t/033-amocrm.t"]),
    m("amocrm-confirm", "a sale the API says is none still announced",
      [("src/libtraffic/enrich.c", "    if (gone && e->cfg->amo_confirm) {",
        "    if (0) {")],
      ["t/033-amocrm.t", "t/055-enrich-life.t"]),
    # one sale per lead
    m("one-sale-per-lead", "a repeated webhook stores a second sale",
      [("src/libtraffic/sql/sale.sql",
        "  to_timestamp($29::bigint), $22 FROM raw\n ON CONFLICT (lead_id) DO NOTHING",
        "  to_timestamp($29::bigint), $22 FROM raw\n"
        " ON CONFLICT (lead_id) DO UPDATE SET lead_name = EXCLUDED.lead_name")],
      ["t/010-storage.t", "t/020-seed.t", "t/022-corpus.t"]),
    # spool durability and replay
    m("spool-fsync", "a spool file's fsync skipped",
      [(SPOOL, "    if (fsync(fd) != 0) {", "    if (0) {")],
      ["t/040-spool.t"]),
    m("spool-dir-fsync", "the spool directory's fsync after the rename"
      " skipped",
      [(SPOOL, "    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||\n"
        "        fsync(dfd) != 0) {",
        "    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {")],
      ["t/040-spool.t"]),
    m("replay-order", "the spool replayed newest first",
      [("src/libtraffic/dir.c",
        "    return strcmp(*(char *const *)a, *(char *const *)b);",
        "    return strcmp(*(char *const *)b, *(char *const *)a);")],
      ["t/040-spool.t"]),
    m("poison-spooled", "a delivery the database refuses for good answered"
      " 'queued' into a spool that can only fail",
      [("src/libtraffic/sale.c",
        "            return TR_EREFUSED; /* no retry, no spool would ever take it */",
        "            return TR_EDB;")],
      ["t/047-poison.t"]),
    m("lazy-log-sync", "a lone non-sale's log row waits for the WAL flush",
      [("src/libtraffic/sale.c", "            err = save_event(s, d, it, !tx, msg, msgsz);",
        "            err = save_event(s, d, it, 0, msg, msgsz);")],
      ["t/010-storage.t"]),
    m("wake-none", "the sidecar not woken after a sale (it naps a second)",
      [("src/traffic-webhook.c", "    tr_wake_send(s->cfg.spool_dir);",
        "    (void)s;")],
      ["t/034-telegram-held.t"]),
    m("spool-tries-none", "an entry that fails every replay is tried for ever",
      [("src/libtraffic/drain.c", "    if (n < TR_SPOOL_TRIES)\n        return TR_OK;",
        "    if (n > 0)\n        return TR_OK;")],
      ["t/047-poison.t"]),
    m("spool-tries-any-failure", "a replay that fails for the database's reason counts against the entry",
      [("src/libtraffic/store.c", "    if (state == NULL || strlen(state) != 5)\n        return 0;",
        "    if (state != NULL)\n        return 1;")],
      ["t/047-poison.t"]),
    # a lead event without a stored sale skips traffic_sale_apply
    m("lead-event-unstored", "a lead event never reaches its stored sale",
      [("src/libtraffic/sql/lead_event.sql", " WHERE stored.yes\n", " WHERE false\n")],
      ["t/052-sale-life.t"]),
    # signals only while waiting for a connection
    m("accept-signals", "SIGTERM is taken while libfcgi accepts a connection",
      [("src/traffic-webhook.c", "    sigprocmask(SIG_BLOCK, term, &waiting);",
        "    sigprocmask(SIG_UNBLOCK, term, &waiting);")],
      ["t/025-pool.t"]),
    # the end of a FastCGI request
    m("fcgi-wait", "a worker waits for its client to close after every answer",
      [("src/io.c", "    if (FCGX_HasSeenEOF(fcgi->in) == EOF || FCGX_GetChar(fcgi->in) == EOF)",
        "    if (0)")],
      ["t/025-pool.t"]),
    m("fcgi-reset", "a worker closes at once with a body unread",
      [("src/io.c", "    if (FCGX_HasSeenEOF(fcgi->in) == EOF || FCGX_GetChar(fcgi->in) == EOF)",
        "    if (1)")],
      ["t/043-hostile.t"]),
    # a lone lead event is only logged when its lead has no stored sale
    m("lead-log-stored", "a lone lead event is only logged, stored sale or not",
      [("src/libtraffic/sql/lead_log.sql", "WHERE NOT EXISTS (SELECT 1", "WHERE true OR EXISTS (SELECT 1")],
      ["t/052-sale-life.t"]),
    # plans
    m("plans-kept", "the sidecar keeps the plans it made while the outbox was small",
      [("src/libtraffic/notify.c", "    if (top < TR_NOTIFY_REPLAN_MIN || top / 4 < n->planned_at ||",
        "    if (top >= 0 || top / 4 < n->planned_at ||")],
      ["t/061-plans.t"]),
    m("plans-once", "the sidecar has its plans made again only the first time",
      [("src/libtraffic/notify.c", "    if (top < TR_NOTIFY_REPLAN_MIN || top / 4 < n->planned_at ||",
        "    if (top < TR_NOTIFY_REPLAN_MIN || n->planned_at > 0 ||")],
      ["t/061-plans.t"]),
    # health
    m("test-stamp-frozen", "the kept test answer keeps its timestamp too",
      [("src/libtraffic/router.c", "    tr_buf_adds(&resp->body, now);",
        "    tr_buf_adds(&resp->body, \"2026-01-01T00:00:00.000Z\");")],
      ["t/020-seed.t"]),
    m("test-answer-stale", "the kept test answer not made again when the health changes",
      [("src/libtraffic/router.c", "         r->test.changes != r->health.changes) &&",
        "         0) &&")],
      ["t/056-health-metrics.t"]),
    m("health-stale", "a worker's \"all is well\" never measured again",
      [("src/libtraffic/health.c", "tr_ms_since(&c->at, &now) < TR_HEALTH_FRESH_MS",
        "tr_ms_since(&c->at, &now) >= 0")],
      ["t/056-health-metrics.t"]),
    m("health-closed-unseen", "a connection the server closed not seen until the next measure",
      [("src/libtraffic/store.c", "    if (poll(&p, 1, 0) == 0)\n        return 1;",
        "    if (poll(&p, 1, 0) >= 0)\n        return 1;")],
      ["t/056-health-metrics.t"]),
    # request deadlines, signals
    m("deadline-none", "a request's database deadline never set",
      [("src/libtraffic/store.c", "    if (ms > 0) {\n        clock_gettime(CLOCK_MONOTONIC, &store->deadline);",
        "    if (ms < 0) {\n        clock_gettime(CLOCK_MONOTONIC, &store->deadline);")],
      ["t/045-db-silent.t"]),
    m("sigterm-ignored", "the pool ignores SIGTERM",
      [("src/pool.c", "        if (sig == SIGTERM || sig == SIGINT)",
        "        if (sig == SIGINT)")],
      ["t/025-pool.t"]),
]
