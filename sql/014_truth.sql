-- 014: reconciliation acts only on evidence, and times cannot freeze a sale.
--
-- A run counts the leads it could not verify (absent from an answer, no
-- status, unreadable) and the reversals its breaker held back; the alert
-- 'reconcile' says when a run failed or held reversals back, 'database'
-- when the database answers and refuses sales.  A lead time
-- already stored in the future (before the service bounded them, one
-- event of the year 2100 made every later event stale) becomes now.

ALTER TABLE reconcile_runs
    ADD COLUMN IF NOT EXISTS unverified integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS held integer NOT NULL DEFAULT 0;

INSERT INTO traffic_alerts (alert) VALUES ('reconcile'), ('database')
ON CONFLICT DO NOTHING;

UPDATE sales_notifications SET lead_updated_at = now()
WHERE lead_updated_at > now() + interval '5 minutes';

INSERT INTO schema_migrations (version) VALUES ('014') ON CONFLICT DO NOTHING;
