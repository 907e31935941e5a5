-- 007: a sale's whole life.  A stored sale follows its deal: a new price,
-- a move out of the won status or pipeline, a deletion and a restoration
-- change it, in the order of the lead's own modification time, and
-- all_sales_tracking holds exactly the deals that are won now.
--
-- Every column and table here is added without rewriting an existing one:
-- new columns have constant defaults (kept in the catalog) and domains
-- without constraints; the constraints are added afterwards, which only
-- reads the rows.  Existing sales become 'won'.

CREATE DOMAIN traffic_sale_state AS text;
CREATE DOMAIN traffic_outbox_kind AS text;

ALTER TABLE sales_notifications
    ADD COLUMN IF NOT EXISTS sale_state traffic_sale_state NOT NULL
        DEFAULT 'won',
    -- the lead's own modification time (updated_at or last_modified of the
    -- body, the API's updated_at) of the newest event applied
    ADD COLUMN IF NOT EXISTS lead_updated_at timestamptz,
    -- the endpoint's source, for the dashboard copy of a restored sale
    ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'amocrm_traffic';

-- What a delivery did to a stored sale, or why a sale's price is unknown.
ALTER TABLE webhook_logs ADD COLUMN IF NOT EXISTS detail text;

-- A sale's messages: the sale's own (kind 'sale', one per chat), edits of a
-- sent one (a new price: 'edit') and replies to it (reversed, restored:
-- 'reply').  reply_to is the sale message an edit or reply is about; it is
-- due once that one is sent (traffic_outbox_record makes it so).
ALTER TABLE notification_outbox
    ADD COLUMN IF NOT EXISTS kind traffic_outbox_kind NOT NULL
        DEFAULT 'sale',
    ADD COLUMN IF NOT EXISTS reply_to bigint,
    ADD COLUMN IF NOT EXISTS event_id bigint;

ALTER DOMAIN traffic_sale_state ADD CONSTRAINT traffic_sale_state_check
    CHECK (VALUE IN ('won', 'reversed'));
ALTER DOMAIN traffic_outbox_kind ADD CONSTRAINT traffic_outbox_kind_check
    CHECK (VALUE IN ('sale', 'edit', 'reply'));

-- One sale message per chat; one pending edit per message; one reply per
-- message and event.
CREATE UNIQUE INDEX IF NOT EXISTS notification_outbox_sale_message_key
    ON notification_outbox (sale_id, chat_id, coalesce(thread_id, 0))
    WHERE kind = 'sale';
DROP INDEX IF EXISTS notification_outbox_sale_chat_key;
CREATE UNIQUE INDEX IF NOT EXISTS notification_outbox_edit_key
    ON notification_outbox (reply_to) WHERE kind = 'edit'
    AND status = 'pending';
CREATE UNIQUE INDEX IF NOT EXISTS notification_outbox_reply_key
    ON notification_outbox (reply_to, event_id) WHERE kind = 'reply';

CREATE DOMAIN traffic_sale_event_kind AS text
    CONSTRAINT traffic_sale_event_kind_check CHECK (VALUE IN
    ('won', 'price_changed', 'reversed', 'restored', 'reassigned'));
CREATE DOMAIN traffic_sale_event_source AS text
    CONSTRAINT traffic_sale_event_source_check CHECK (VALUE IN
    ('webhook', 'reconcile', 'operator'));

-- One row per change of a sale: what changed (detail: the old and new
-- amount, status, targetologist, the reason), and who said so.
CREATE TABLE IF NOT EXISTS sale_events (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL,
    kind        traffic_sale_event_kind NOT NULL,
    source      traffic_sale_event_source NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sale_events_lead_id_idx
    ON sale_events (lead_id, id);
CREATE INDEX IF NOT EXISTS sale_events_created_at_idx
    ON sale_events (created_at);

-- A sale follows its lead: traffic_sale_apply applies an event to the
-- stored sale and says what changed.
\ir functions/traffic_sale_apply.sql

-- and traffic_sale_status sets the sale's status from its messages
\ir functions/traffic_sale_status.sql

-- traffic_outbox_record (sql/005) for every kind of message: a sale's own
-- message sets the sale's notification_status as before (edits and replies
-- do not); once sent, the edits and replies waiting for it are due, and
-- once it failed for good, they are given up.
\ir functions/traffic_outbox_record.sql

-- A request slot of the pool's AmoCRM rate (as traffic_amocrm_slot, sql/003)
-- taken only when it comes within p_max_wait seconds: the seconds to wait
-- for it, or no row when it is further away (then nothing is taken, so a
-- worker that leaves its sale to the sidecar does not waste a slot).
\ir functions/traffic_amocrm_take.sql

-- Every reconciliation with the AmoCRM API (traffic-ctl reconcile, the
-- sidecar): what it found, and what it said about AmoCRM's webhook.
CREATE TABLE IF NOT EXISTS reconcile_runs (
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
    error        text
);
CREATE INDEX IF NOT EXISTS reconcile_runs_started_at_idx
    ON reconcile_runs (started_at);

INSERT INTO schema_migrations (version) VALUES ('007') ON CONFLICT DO NOTHING;
