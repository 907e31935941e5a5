-- 015: the record of an adoption (traffic-ctl adopt, sql/adopt.sql) in
-- every schema, so that the statements reading it parse everywhere; the
-- columns the old handler's log viewer reads, for the rows we write; a
-- lease for reconciliation that works through a transaction pooler.

CREATE TABLE IF NOT EXISTS adopt_log (
    id      bigserial PRIMARY KEY,
    run_at  timestamptz NOT NULL DEFAULT now(),
    line    text NOT NULL
);

ALTER TABLE webhook_logs
    ADD COLUMN IF NOT EXISTS deal_data jsonb,
    ADD COLUMN IF NOT EXISTS pipeline_id bigint,
    ADD COLUMN IF NOT EXISTS utm_source text,
    ADD COLUMN IF NOT EXISTS utm_campaign text,
    ADD COLUMN IF NOT EXISTS processed_at timestamptz;

-- One reconciliation at a time across every host, as a lease row rather
-- than a session's advisory lock: through a transaction pooler (Supabase's
-- port 6543) a session lock is taken on one server connection and given
-- back on another, and stays taken for good.
CREATE TABLE IF NOT EXISTS traffic_leases (
    name        text PRIMARY KEY,
    holder      text,
    until       timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO traffic_leases (name) VALUES ('reconcile') ON CONFLICT DO NOTHING;

INSERT INTO schema_migrations (version) VALUES ('015') ON CONFLICT DO NOTHING;
