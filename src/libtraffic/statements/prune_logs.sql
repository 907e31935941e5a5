-- traffic-ctl prune: webhook_logs older than $1 seconds.
DELETE FROM webhook_logs WHERE received_at < now() - $1 * interval '1 second'
