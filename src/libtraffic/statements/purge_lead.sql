-- traffic-ctl purge-lead: a (test) lead out of every table that holds it,
-- in one statement; a row per table with the rows removed.  Every table
-- with a lead_id column is here: t/012 checks the list against the schema.
--   $1 lead_id
WITH o AS (DELETE FROM notification_outbox WHERE lead_id = $1 RETURNING 1),
t AS (DELETE FROM all_sales_tracking WHERE lead_id = $1 RETURNING 1),
s AS (DELETE FROM sales_notifications WHERE lead_id = $1 RETURNING 1),
r AS (DELETE FROM referral_conversions WHERE lead_id = $1 RETURNING 1),
l AS (DELETE FROM webhook_logs WHERE lead_id = $1 RETURNING 1),
e AS (DELETE FROM sale_events WHERE lead_id = $1 RETURNING 1)
SELECT 'notification_outbox' AS tbl, (SELECT count(*) FROM o) AS removed
UNION ALL SELECT 'all_sales_tracking', (SELECT count(*) FROM t)
UNION ALL SELECT 'sales_notifications', (SELECT count(*) FROM s)
UNION ALL SELECT 'referral_conversions', (SELECT count(*) FROM r)
UNION ALL SELECT 'webhook_logs', (SELECT count(*) FROM l)
UNION ALL SELECT 'sale_events', (SELECT count(*) FROM e)
