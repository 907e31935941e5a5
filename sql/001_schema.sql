-- 001: the seed's three tables (names and columns the dashboard reads), the
-- constraints a reliable service needs, and the notification outbox.
--
-- Plain SQL, idempotent: "psql -v ON_ERROR_STOP=1 -f" applies it, and so does
-- "traffic-ctl migrate", which records it in schema_migrations.

CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- The notification history: one row per sale (per lead).
CREATE TABLE IF NOT EXISTS sales_notifications (
    id                   bigserial PRIMARY KEY,
    lead_id              bigint NOT NULL,
    lead_name            text,
    contact_name         text,
    contact_phone        text,
    contact_email        text,
    sale_amount          numeric(15, 2),         -- NULL: price unknown
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
    sale_date            timestamptz NOT NULL,   -- when we received it
    notification_status  text NOT NULL DEFAULT 'pending',
    notified_at          timestamptz,
    enriched             boolean NOT NULL DEFAULT false,
    raw_webhook_data     jsonb,                  -- the lead's own subtree
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sales_notifications_status_check CHECK (notification_status IN
        ('pending', 'sent', 'failed', 'disabled', 'unconfirmed'))
);
CREATE UNIQUE INDEX IF NOT EXISTS sales_notifications_lead_id_key
    ON sales_notifications (lead_id);
CREATE INDEX IF NOT EXISTS sales_notifications_sale_date_idx
    ON sales_notifications (sale_date);

-- The Traffic Dashboard's table: one row per sale (per lead).
CREATE TABLE IF NOT EXISTS all_sales_tracking (
    id                   bigserial PRIMARY KEY,
    lead_id              bigint NOT NULL,
    lead_name            text,
    contact_name         text,
    contact_phone        text,
    contact_email        text,
    sale_amount          numeric(15, 2),
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
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS all_sales_tracking_lead_id_key
    ON all_sales_tracking (lead_id);
CREATE INDEX IF NOT EXISTS all_sales_tracking_sale_date_idx
    ON all_sales_tracking (sale_date);
CREATE INDEX IF NOT EXISTS all_sales_tracking_targetologist_idx
    ON all_sales_tracking (targetologist, sale_date);

-- One row per lead seen in a delivery (or one per delivery without leads).
CREATE TABLE IF NOT EXISTS webhook_logs (
    id                   bigserial PRIMARY KEY,
    received_at          timestamptz NOT NULL DEFAULT now(),
    source               text NOT NULL,          -- 'amocrm_traffic', 'amocrm'
    event_type           text,                   -- 'leads.status', ...
    lead_id              bigint,
    request_id           text,                   -- X-AmoCRM-RequestId
    routing_decision     text,
    processing_status    text NOT NULL,
    targetologist        text,
    skip_reason          text,                   -- skipped / ignored: why
    error_message        text,                   -- error: what
    raw_body             text,                   -- the request body, bounded
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_logs_status_check CHECK (processing_status IN
        ('success', 'duplicate', 'skipped', 'ignored', 'error'))
);
CREATE INDEX IF NOT EXISTS webhook_logs_received_at_idx
    ON webhook_logs (received_at);
CREATE INDEX IF NOT EXISTS webhook_logs_lead_id_idx
    ON webhook_logs (lead_id);
CREATE INDEX IF NOT EXISTS webhook_logs_source_idx
    ON webhook_logs (source, received_at);

-- What must be sent to which chat, per sale; see traffic-ctl deliver.
CREATE TABLE IF NOT EXISTS notification_outbox (
    id                   bigserial PRIMARY KEY,
    sale_id              bigint NOT NULL
                         REFERENCES sales_notifications (id) ON DELETE CASCADE,
    lead_id              bigint NOT NULL,
    chat_id              text NOT NULL,
    thread_id            bigint,
    status               text NOT NULL DEFAULT 'pending',
    attempts             integer NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz NOT NULL DEFAULT now(),
    lease_until          timestamptz,
    last_error           text,
    telegram_message_id  bigint,
    created_at           timestamptz NOT NULL DEFAULT now(),
    sent_at              timestamptz,
    CONSTRAINT notification_outbox_status_check CHECK (status IN
        ('pending', 'sent', 'failed', 'disabled'))
);
CREATE UNIQUE INDEX IF NOT EXISTS notification_outbox_sale_chat_key
    ON notification_outbox (sale_id, chat_id, coalesce(thread_id, 0));
CREATE INDEX IF NOT EXISTS notification_outbox_due_idx
    ON notification_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS notification_outbox_lead_id_idx
    ON notification_outbox (lead_id);

INSERT INTO schema_migrations (version) VALUES ('001') ON CONFLICT DO NOTHING;
