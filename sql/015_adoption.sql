-- 015: the record of an adoption (traffic-ctl adopt, sql/adopt.sql) in
-- every schema, so that the statements reading it parse everywhere; and
-- the columns the old handler's log viewer reads, for the rows we write.

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

INSERT INTO schema_migrations (version) VALUES ('015') ON CONFLICT DO NOTHING;
