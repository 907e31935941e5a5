-- baseline-018: the schema of migrations 001 to 018, squashed, for a fresh
-- install (traffic-ctl migrate takes it when the schema has none of the
-- service's tables; any other schema gets the migrations).  Functions are
-- loaded from their one definition each (functions/).  t/072 checks that
-- this and the migrations end with the same schema, rows and function
-- bodies included; a new migration is written as a migration, not here.

-- The values a status may take (007's domains).
CREATE DOMAIN traffic_notification_status AS text
    CHECK (VALUE IN ('pending', 'sent', 'failed', 'disabled', 'unconfirmed'));
CREATE DOMAIN traffic_enrich_status AS text
    CHECK (VALUE IN ('pending', 'done', 'failed', 'unconfirmed', 'skipped'));
CREATE DOMAIN traffic_sale_state AS text
    CHECK (VALUE IN ('won', 'reversed'));
CREATE DOMAIN traffic_outbox_status AS text
    CHECK (VALUE IN ('pending', 'sent', 'failed', 'disabled'));
CREATE DOMAIN traffic_outbox_kind AS text
    CHECK (VALUE IN ('sale', 'edit', 'reply', 'digest'));
CREATE DOMAIN traffic_processing_status AS text
    CHECK (VALUE IN ('success', 'duplicate', 'skipped', 'ignored', 'error'));
CREATE DOMAIN traffic_sale_event_kind AS text
    CHECK (VALUE IN ('won', 'price_changed', 'reversed', 'restored',
                     'reassigned'));
CREATE DOMAIN traffic_sale_event_source AS text
    CHECK (VALUE IN ('webhook', 'reconcile', 'operator'));

CREATE TABLE schema_migrations (
    version     text PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- Every sale once, as its message was built, and where its life stands.
CREATE TABLE sales_notifications (
    id                   bigserial PRIMARY KEY,
    lead_id              bigint NOT NULL,
    lead_name            text,
    contact_name         text,
    contact_phone        text,
    contact_email        text,
    sale_amount          numeric(15,2),
    currency             text NOT NULL DEFAULT 'KZT',
    product_name         text,
    targetologist        text NOT NULL,
    targetologist_emoji  text,
    utm_source           text,
    utm_medium           text,
    utm_campaign         text,
    utm_content          text,
    utm_term             text,
    utm_id               text,
    pipeline_id          bigint,
    status_id            bigint,
    responsible_user_id  bigint,
    sale_date            timestamptz NOT NULL,
    notification_status  traffic_notification_status NOT NULL
                             DEFAULT 'pending',
    notified_at          timestamptz,
    enriched             boolean NOT NULL DEFAULT false,
    raw_webhook_data     jsonb,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    enrich_status        traffic_enrich_status NOT NULL DEFAULT 'skipped',
    enrich_attempts      integer NOT NULL DEFAULT 0,
    enrich_next_at       timestamptz NOT NULL DEFAULT now(),
    enrich_lease_until   timestamptz,
    enrich_error         text,
    amocrm_base          text,
    sale_state           traffic_sale_state NOT NULL DEFAULT 'won',
    lead_updated_at      timestamptz,
    source               text NOT NULL DEFAULT 'amocrm_traffic'
);
CREATE UNIQUE INDEX sales_notifications_lead_id_key
    ON sales_notifications (lead_id);
CREATE INDEX sales_notifications_sale_date_idx
    ON sales_notifications (sale_date);
CREATE INDEX sales_notifications_enrich_due_idx
    ON sales_notifications (enrich_next_at) WHERE enrich_status = 'pending';

-- The dashboard's table: the deals that are won now.
CREATE TABLE all_sales_tracking (
    id                   bigserial PRIMARY KEY,
    lead_id              bigint NOT NULL,
    lead_name            text,
    contact_name         text,
    contact_phone        text,
    contact_email        text,
    sale_amount          numeric(15,2),
    currency             text NOT NULL DEFAULT 'KZT',
    product_name         text,
    targetologist        text NOT NULL,
    utm_source           text,
    utm_medium           text,
    utm_campaign         text,
    utm_content          text,
    utm_term             text,
    utm_id               text,
    pipeline_id          bigint,
    status_id            bigint,
    responsible_user_id  bigint,
    sale_date            timestamptz NOT NULL,
    webhook_received_at  timestamptz NOT NULL,
    source               text NOT NULL DEFAULT 'amocrm_traffic',
    raw_webhook_data     jsonb,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    sale_amount_known    boolean NOT NULL DEFAULT true
);
CREATE UNIQUE INDEX all_sales_tracking_lead_id_key
    ON all_sales_tracking (lead_id);
CREATE INDEX all_sales_tracking_sale_date_idx
    ON all_sales_tracking (sale_date);
CREATE INDEX all_sales_tracking_targetologist_idx
    ON all_sales_tracking (targetologist, sale_date);

-- One row per delivery.
CREATE TABLE webhook_logs (
    id                 bigserial PRIMARY KEY,
    received_at        timestamptz NOT NULL DEFAULT now(),
    source             text NOT NULL,
    event_type         text,
    lead_id            bigint,
    request_id         text,
    routing_decision   text,
    processing_status  traffic_processing_status NOT NULL,
    targetologist      text,
    skip_reason        text,
    error_message      text,
    raw_body           text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    detail             text,
    deal_data          jsonb,
    pipeline_id        bigint,
    utm_source         text,
    utm_campaign       text,
    processed_at       timestamptz DEFAULT now()
);
CREATE INDEX webhook_logs_lead_id_idx ON webhook_logs (lead_id);
CREATE INDEX webhook_logs_received_at_idx ON webhook_logs (received_at);
CREATE INDEX webhook_logs_source_idx ON webhook_logs (source, received_at);

-- The messages to Telegram (outgoing/outbox.h).
CREATE TABLE notification_outbox (
    id                   bigserial PRIMARY KEY,
    sale_id              bigint REFERENCES sales_notifications (id)
                             ON DELETE CASCADE,
    lead_id              bigint,
    chat_id              text NOT NULL,
    thread_id            bigint,
    status               traffic_outbox_status NOT NULL DEFAULT 'pending',
    attempts             integer NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz NOT NULL DEFAULT now(),
    lease_until          timestamptz,
    last_error           text,
    telegram_message_id  bigint,
    created_at           timestamptz NOT NULL DEFAULT now(),
    sent_at              timestamptz,
    kind                 traffic_outbox_kind NOT NULL DEFAULT 'sale',
    reply_to             bigint,
    event_id             bigint,
    batch_id             bigint,
    body                 text,
    dedupe_key           text
);
CREATE INDEX notification_outbox_lead_id_idx ON notification_outbox (lead_id);
CREATE INDEX notification_outbox_chat_order_idx
    ON notification_outbox (chat_id, created_at, id) WHERE status = 'pending';
CREATE INDEX notification_outbox_failed_idx
    ON notification_outbox (created_at) WHERE status = 'failed';
CREATE UNIQUE INDEX notification_outbox_sale_message_key
    ON notification_outbox (sale_id, chat_id, coalesce(thread_id, 0))
    WHERE kind = 'sale';
CREATE UNIQUE INDEX notification_outbox_edit_key
    ON notification_outbox (reply_to) WHERE kind = 'edit'
    AND status = 'pending';
CREATE UNIQUE INDEX notification_outbox_reply_key
    ON notification_outbox (reply_to, event_id) WHERE kind = 'reply';
CREATE INDEX notification_outbox_batch_idx
    ON notification_outbox (batch_id) WHERE batch_id IS NOT NULL;
CREATE UNIQUE INDEX notification_outbox_dedupe_key
    ON notification_outbox (dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX notification_outbox_waiting_idx
    ON notification_outbox (reply_to)
    WHERE status = 'pending' AND reply_to IS NOT NULL;

-- Each chat's pacing.
CREATE TABLE telegram_chats (
    chat_id      text PRIMARY KEY,
    next_at      timestamptz NOT NULL DEFAULT '-infinity',
    recent       timestamptz[] NOT NULL DEFAULT '{}',
    migrated_to  text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The pool's AmoCRM request rate (functions/traffic_amocrm_slot.sql).
CREATE TABLE amocrm_rate (
    id       integer PRIMARY KEY CHECK (id = 1),
    next_at  timestamptz NOT NULL
);
INSERT INTO amocrm_rate VALUES (1, '-infinity');

CREATE TABLE referral_conversions (
    id                bigserial PRIMARY KEY,
    lead_id           bigint NOT NULL,
    referral_code     text,
    amount            numeric(15,2),
    currency          text NOT NULL DEFAULT 'KZT',
    lead_name         text,
    client_name       text,
    utm_campaign      text,
    routing_decision  text NOT NULL,
    converted_at      timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX referral_conversions_lead_id_key
    ON referral_conversions (lead_id);
CREATE INDEX referral_conversions_code_idx
    ON referral_conversions (referral_code, converted_at);

-- One row per change of a sale.
CREATE TABLE sale_events (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL,
    kind        traffic_sale_event_kind NOT NULL,
    source      traffic_sale_event_source NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sale_events_lead_id_idx ON sale_events (lead_id, id);
CREATE INDEX sale_events_created_at_idx ON sale_events (created_at);

CREATE TABLE reconcile_runs (
    id           bigserial PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    since        timestamptz NOT NULL,
    dry_run      boolean NOT NULL DEFAULT false,
    checked      integer NOT NULL DEFAULT 0,
    recovered    integer NOT NULL DEFAULT 0,
    corrected    integer NOT NULL DEFAULT 0,
    reversed     integer NOT NULL DEFAULT 0,
    unchanged    integer NOT NULL DEFAULT 0,
    hook         text,       -- 'ok', 'missing', 'disabled', or NULL: unknown
    error        text,
    unverified   integer NOT NULL DEFAULT 0,
    held         integer NOT NULL DEFAULT 0
);
CREATE INDEX reconcile_runs_started_at_idx ON reconcile_runs (started_at);

CREATE TABLE traffic_alerts (
    alert       text PRIMARY KEY,
    active      boolean NOT NULL DEFAULT false,
    detail      text,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    checked_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO traffic_alerts (alert) VALUES ('amocrm_hook'), ('amocrm_token'),
    ('telegram_token'), ('telegram_chat'), ('failed_messages'), ('silence'),
    ('reconcile'), ('database'), ('ads');

CREATE TABLE traffic_leases (
    name    text PRIMARY KEY,
    holder  text,
    until   timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO traffic_leases (name) VALUES ('reconcile'), ('ads');

CREATE TABLE adopt_log (
    id      bigserial PRIMARY KEY,
    run_at  timestamptz NOT NULL DEFAULT now(),
    line    text NOT NULL
);

-- The ad spend (outgoing/ads.c) and the rates it is counted in.
CREATE TABLE ad_spend (
    day            date NOT NULL,
    account_id     text NOT NULL,
    campaign_id    text NOT NULL,
    campaign_name  text,
    targetologist  text NOT NULL,
    spend          numeric(14,2) NOT NULL CHECK (spend >= 0),
    currency       text NOT NULL,
    impressions    bigint,
    clicks         bigint,
    synced_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, account_id, campaign_id)
);
CREATE INDEX ad_spend_targetologist_day ON ad_spend (targetologist, day);

CREATE TABLE fx_rates (
    day         date NOT NULL,
    currency    text NOT NULL,
    rate        numeric(14,4) NOT NULL CHECK (rate > 0),
    quant       integer NOT NULL DEFAULT 1 CHECK (quant > 0),
    source      text NOT NULL,
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, currency)
);

CREATE TABLE ads_sync_runs (
    id           bigserial PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    since        date NOT NULL,
    until        date NOT NULL,
    rows         integer NOT NULL DEFAULT 0,
    error        text
);

\ir functions/traffic_outbox_record.sql
\ir functions/traffic_outbox_record_batch.sql
\ir functions/traffic_sale_apply.sql
\ir functions/traffic_sale_status.sql
\ir functions/traffic_amocrm_slot.sql
\ir functions/traffic_amocrm_take.sql
\ir functions/traffic_tracking_amount.sql
\ir functions/traffic_tables.sql
\ir functions/traffic_allow_service.sql
\ir functions/traffic_allow_reader.sql

CREATE TRIGGER traffic_tracking_amount
    BEFORE INSERT OR UPDATE OF sale_amount ON all_sales_tracking
    FOR EACH ROW EXECUTE FUNCTION traffic_tracking_amount();

-- Row level security on every table; the role that runs this gets its
-- policy (017).
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT traffic_tables() LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    END LOOP;
    PERFORM traffic_allow_service(current_user);
END
$$;

INSERT INTO schema_migrations (version)
    SELECT to_char(v, 'FM000') FROM generate_series(1, 18) v;
