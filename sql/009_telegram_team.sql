-- 009: Telegram for a team.  During a burst a paced chat gets its waiting
-- sales combined, up to ten in one message ("НОВЫЕ ПРОДАЖИ: N"); every sale
-- of a combined message keeps its message id and the combined message's
-- first row (batch_id), so an edit re-renders all its lines and a reply
-- answers it.  And a daily summary per chat, an outbox row of its own kind
-- (no sale; its text in body) queued once per chat and day (dedupe_key).
--
-- No table CHECK constraint is added (sql/006: they cost every insert);
-- the new kind is the domain's.

ALTER TABLE notification_outbox
    ADD COLUMN IF NOT EXISTS batch_id bigint,
    ADD COLUMN IF NOT EXISTS body text,
    ADD COLUMN IF NOT EXISTS dedupe_key text,
    ALTER COLUMN sale_id DROP NOT NULL,
    ALTER COLUMN lead_id DROP NOT NULL;

ALTER DOMAIN traffic_outbox_kind DROP CONSTRAINT traffic_outbox_kind_check;
ALTER DOMAIN traffic_outbox_kind ADD CONSTRAINT traffic_outbox_kind_check
    CHECK (VALUE IN ('sale', 'edit', 'reply', 'digest'));

-- the lines of a combined message, for its edits
CREATE INDEX IF NOT EXISTS notification_outbox_batch_idx
    ON notification_outbox (batch_id) WHERE batch_id IS NOT NULL;
-- one summary per chat and day, whoever queues it first
CREATE UNIQUE INDEX IF NOT EXISTS notification_outbox_dedupe_key
    ON notification_outbox (dedupe_key) WHERE dedupe_key IS NOT NULL;

-- traffic_outbox_record (sql/007) for combined messages: p_pace false for
-- the sales after the first (the chat is paced once per message sent), and
-- p_batch_id the combined message's first row, kept once it is sent.
DROP FUNCTION IF EXISTS traffic_outbox_record(bigint, text, bigint, text,
    bigint, text, integer, integer, integer, integer);
\ir functions/traffic_outbox_record.sql

INSERT INTO schema_migrations (version) VALUES ('009') ON CONFLICT DO NOTHING;
