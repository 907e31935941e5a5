-- GET /metrics: when the last ad spend sync finished without an error
-- (unix seconds; 0: never).
SELECT coalesce(extract(epoch FROM max(finished_at) FILTER (WHERE error IS
 NULL)), 0)::bigint AS last_ok
FROM ads_sync_runs
