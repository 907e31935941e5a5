-- 003: completing and confirming a sale through the AmoCRM API before its
-- message goes out.
--
-- A new sale whose service has AMOCRM_ACCESS_TOKEN starts with enrich_status
-- 'pending'; its outbox rows are not claimed until enrichment ends: 'done'
-- (the API filled the gaps and confirmed it), 'failed' (the API could not
-- be asked in time: the message goes out with what the webhook had),
-- 'unconfirmed' (the API says the lead is not a sale: nothing is sent).
-- Sales stored without a token are 'skipped'.  While a sale is 'pending'
-- its outbox rows wait with next_attempt_at 'infinity', so the outbox claim
-- needs no join; enrichment's end makes them due.

ALTER TABLE sales_notifications
    ADD COLUMN IF NOT EXISTS enrich_status text NOT NULL DEFAULT 'skipped',
    ADD COLUMN IF NOT EXISTS enrich_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS enrich_next_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS enrich_lease_until timestamptz,
    ADD COLUMN IF NOT EXISTS enrich_error text,
    -- the account's API as the webhook named it (account[_links][self]),
    -- kept only when it is the configured account's
    ADD COLUMN IF NOT EXISTS amocrm_base text;
ALTER TABLE sales_notifications DROP CONSTRAINT IF EXISTS
    sales_notifications_enrich_status_check;
ALTER TABLE sales_notifications ADD CONSTRAINT
    sales_notifications_enrich_status_check CHECK (enrich_status IN
    ('pending', 'done', 'failed', 'unconfirmed', 'skipped'));
CREATE INDEX IF NOT EXISTS sales_notifications_enrich_due_idx
    ON sales_notifications (enrich_next_at) WHERE enrich_status = 'pending';

-- AmoCRM allows 7 requests a second per integration and blocks the IP
-- beyond that: every process takes its request slot here.  Returns how many
-- seconds to wait before sending; slots are 1/p_per_second apart (plus a
-- 5% margin for the time between this call and the request).
CREATE TABLE IF NOT EXISTS amocrm_rate (
    id       integer PRIMARY KEY CHECK (id = 1),
    next_at  timestamptz NOT NULL
);
INSERT INTO amocrm_rate VALUES (1, '-infinity') ON CONFLICT DO NOTHING;

\ir functions/traffic_amocrm_slot.sql

INSERT INTO schema_migrations (version) VALUES ('003') ON CONFLICT DO NOTHING;
