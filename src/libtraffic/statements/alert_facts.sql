-- What the alerts read from the database, one row: messages that failed
-- for good in the last day (and the commonest reason), the hours since the
-- last webhook (or since the install, before the first one), and the last
-- reconciliation's error and the reversals it held back, and the last
-- finished ad spend sync's error.
SELECT
 (SELECT count(*) FROM notification_outbox WHERE status = 'failed'
  AND created_at > now() - interval '24 hours') AS failed,
 coalesce((SELECT last_error FROM notification_outbox WHERE status =
  'failed' AND created_at > now() - interval '24 hours' GROUP BY last_error
  ORDER BY count(*) DESC LIMIT 1), '') AS reason,
 extract(epoch FROM now() - coalesce((SELECT max(received_at)
  FROM webhook_logs), (SELECT min(applied_at) FROM schema_migrations)))
  / 3600 AS silent_h,
 coalesce(r.error, '') AS reconcile_error, coalesce(r.held, 0) AS held,
 coalesce((SELECT error FROM ads_sync_runs WHERE finished_at IS NOT NULL
  ORDER BY id DESC LIMIT 1), '') AS ads_error
FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT error, held FROM reconcile_runs
 WHERE finished_at IS NOT NULL AND NOT dry_run ORDER BY id DESC LIMIT 1) r
 ON true
