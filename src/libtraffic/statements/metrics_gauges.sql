-- GET /metrics: the gauges read at scrape time, each from an index.
SELECT
 (SELECT count(*) FROM notification_outbox WHERE status = 'pending')
  AS pending,
 (SELECT count(*) FROM notification_outbox WHERE status = 'failed')
  AS failed,
 coalesce(extract(epoch FROM now() - (SELECT max(received_at)
  FROM webhook_logs)), -1) AS webhook_age,
 coalesce(extract(epoch FROM now() - (SELECT max(sale_date)
  FROM sales_notifications)), -1) AS sale_age,
 coalesce((SELECT extract(epoch FROM started_at) FROM reconcile_runs
  WHERE finished_at IS NOT NULL AND error IS NULL AND NOT dry_run
  ORDER BY id DESC LIMIT 1), 0) AS reconcile_at,
 coalesce((SELECT hook FROM reconcile_runs WHERE hook IS NOT NULL
  ORDER BY id DESC LIMIT 1), '') AS hook
