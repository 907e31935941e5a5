-- GET /admin/: how delivery is doing, one row: the last webhook (in the
-- team's time zone $1) and its age, the deliveries of the last 24 hours
-- and those without error, the messages waiting and failed, AmoCRM's hook
-- and the last reconciliation, and the requests refused as not AmoCRM's
-- (a wrong token, another account: no delivery of ours, so not in the
-- rate).
SELECT
 coalesce(to_char((SELECT max(received_at) FROM webhook_logs) AT TIME ZONE $1,
  'DD.MM.YYYY HH24:MI:SS'), '') AS last_webhook,
 coalesce(extract(epoch FROM now() - (SELECT max(received_at)
  FROM webhook_logs))::bigint, -1) AS webhook_age,
 d.total AS day_total, d.ok AS day_ok,
 (SELECT count(*) FROM notification_outbox WHERE status = 'pending')
  AS pending,
 (SELECT count(*) FROM notification_outbox WHERE status = 'failed')
  AS failed,
 coalesce((SELECT hook FROM reconcile_runs WHERE hook IS NOT NULL
  ORDER BY id DESC LIMIT 1), '') AS hook,
 coalesce((SELECT to_char(started_at AT TIME ZONE $1, 'DD.MM.YYYY HH24:MI')
  FROM reconcile_runs WHERE finished_at IS NOT NULL AND error IS NULL
  AND NOT dry_run ORDER BY id DESC LIMIT 1), '') AS reconciled,
 d.refused
FROM (SELECT count(*) FILTER (WHERE NOT foreign_req) AS total,
  count(*) FILTER (WHERE NOT foreign_req AND processing_status <> 'error')
   AS ok,
  count(DISTINCT received_at) FILTER (WHERE foreign_req) AS refused
 FROM (SELECT processing_status, received_at, event_type IN
   ('unauthenticated', 'foreign_account') AS foreign_req
  FROM webhook_logs WHERE received_at >= now() - interval '24 hours') l) d
