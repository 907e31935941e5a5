-- What differs between the tables a database already has under our names
-- (a domain counts as its base type: migration 006 makes the statuses so)
-- (the old Node.js handler's, docs: PREDECESSOR.md) and what migration 001
-- would make, one row per difference: the table and what differs.  Asked
-- by traffic-ctl migrate before its first migration (nothing is changed
-- while a row comes back: traffic-ctl adopt takes such a database over)
-- and by traffic-ctl adopt --dry-run.  No rows: nothing to adopt.
WITH want (tbl, col, typ, nullable) AS (VALUES
 ('sales_notifications', 'id', 'bigint', false),
 ('sales_notifications', 'lead_id', 'bigint', false),
 ('sales_notifications', 'lead_name', 'text', true),
 ('sales_notifications', 'contact_name', 'text', true),
 ('sales_notifications', 'contact_phone', 'text', true),
 ('sales_notifications', 'contact_email', 'text', true),
 ('sales_notifications', 'sale_amount', 'numeric(15,2)', true),
 ('sales_notifications', 'currency', 'text', false),
 ('sales_notifications', 'product_name', 'text', true),
 ('sales_notifications', 'targetologist', 'text', false),
 ('sales_notifications', 'targetologist_emoji', 'text', true),
 ('sales_notifications', 'utm_source', 'text', true),
 ('sales_notifications', 'utm_medium', 'text', true),
 ('sales_notifications', 'utm_campaign', 'text', true),
 ('sales_notifications', 'utm_content', 'text', true),
 ('sales_notifications', 'utm_term', 'text', true),
 ('sales_notifications', 'utm_id', 'text', true),
 ('sales_notifications', 'pipeline_id', 'bigint', true),
 ('sales_notifications', 'status_id', 'bigint', true),
 ('sales_notifications', 'responsible_user_id', 'bigint', true),
 ('sales_notifications', 'sale_date', 'timestamp with time zone', false),
 ('sales_notifications', 'notification_status', 'text', false),
 ('sales_notifications', 'notified_at', 'timestamp with time zone', true),
 ('sales_notifications', 'enriched', 'boolean', false),
 ('sales_notifications', 'raw_webhook_data', 'jsonb', true),
 ('sales_notifications', 'created_at', 'timestamp with time zone', false),
 ('sales_notifications', 'updated_at', 'timestamp with time zone', false),
 ('all_sales_tracking', 'id', 'bigint', false),
 ('all_sales_tracking', 'lead_id', 'bigint', false),
 ('all_sales_tracking', 'lead_name', 'text', true),
 ('all_sales_tracking', 'contact_name', 'text', true),
 ('all_sales_tracking', 'contact_phone', 'text', true),
 ('all_sales_tracking', 'contact_email', 'text', true),
 ('all_sales_tracking', 'sale_amount', 'numeric(15,2)', true),
 ('all_sales_tracking', 'currency', 'text', false),
 ('all_sales_tracking', 'product_name', 'text', true),
 ('all_sales_tracking', 'targetologist', 'text', false),
 ('all_sales_tracking', 'utm_source', 'text', true),
 ('all_sales_tracking', 'utm_medium', 'text', true),
 ('all_sales_tracking', 'utm_campaign', 'text', true),
 ('all_sales_tracking', 'utm_content', 'text', true),
 ('all_sales_tracking', 'utm_term', 'text', true),
 ('all_sales_tracking', 'utm_id', 'text', true),
 ('all_sales_tracking', 'pipeline_id', 'bigint', true),
 ('all_sales_tracking', 'status_id', 'bigint', true),
 ('all_sales_tracking', 'responsible_user_id', 'bigint', true),
 ('all_sales_tracking', 'sale_date', 'timestamp with time zone', false),
 ('all_sales_tracking', 'webhook_received_at', 'timestamp with time zone',
  false),
 ('all_sales_tracking', 'source', 'text', false),
 ('all_sales_tracking', 'raw_webhook_data', 'jsonb', true),
 ('all_sales_tracking', 'created_at', 'timestamp with time zone', false),
 ('all_sales_tracking', 'updated_at', 'timestamp with time zone', false),
 ('webhook_logs', 'id', 'bigint', false),
 ('webhook_logs', 'received_at', 'timestamp with time zone', false),
 ('webhook_logs', 'source', 'text', false),
 ('webhook_logs', 'event_type', 'text', true),
 ('webhook_logs', 'lead_id', 'bigint', true),
 ('webhook_logs', 'request_id', 'text', true),
 ('webhook_logs', 'routing_decision', 'text', true),
 ('webhook_logs', 'processing_status', 'text', false),
 ('webhook_logs', 'targetologist', 'text', true),
 ('webhook_logs', 'skip_reason', 'text', true),
 ('webhook_logs', 'error_message', 'text', true),
 ('webhook_logs', 'raw_body', 'text', true),
 ('webhook_logs', 'created_at', 'timestamp with time zone', false)
), have AS (
 SELECT c.relname AS tbl, a.attname AS col,
  CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod)
   ELSE format_type(a.atttypid, a.atttypmod) END AS typ,
  NOT a.attnotnull AS nullable
 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
  AND NOT a.attisdropped
 JOIN pg_type t ON t.oid = a.atttypid
 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
  AND c.relname IN ('sales_notifications', 'all_sales_tracking',
   'webhook_logs')
), present AS (
 SELECT DISTINCT tbl FROM have
), diff AS (
 SELECT w.tbl, CASE
   WHEN h.col IS NULL THEN format('column %s missing', w.col)
   WHEN h.typ <> w.typ THEN format('column %s is %s, not %s', w.col, h.typ,
    w.typ)
   WHEN NOT w.nullable AND h.nullable
    THEN format('column %s may be NULL', w.col)
   WHEN w.nullable AND NOT h.nullable
    THEN format('column %s is NOT NULL', w.col)
  END AS problem
 FROM want w JOIN present p ON p.tbl = w.tbl
 LEFT JOIN have h ON h.tbl = w.tbl AND h.col = w.col
), uniq AS (
 SELECT p.tbl, 'no unique index on lead_id'::text AS problem
 FROM present p
 WHERE p.tbl <> 'webhook_logs' AND NOT EXISTS (
  SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
   AND a.attnum = i.indkey[0]
  WHERE i.indrelid = to_regclass(p.tbl) AND i.indisunique
   AND i.indnatts = 1 AND a.attname = 'lead_id' AND i.indpred IS NULL)
), probes (tbl, col, what, q) AS (VALUES
 ('sales_notifications', 'lead_id', 'leads have more than one row',
  'SELECT count(*) AS n FROM (SELECT lead_id FROM sales_notifications'
  || ' WHERE lead_id IS NOT NULL GROUP BY lead_id HAVING count(*) > 1) d'),
 ('sales_notifications', 'lead_id', 'rows have no lead id',
  'SELECT count(*) AS n FROM sales_notifications WHERE lead_id IS NULL'),
 ('sales_notifications', 'notification_status',
  'rows have a notification_status outside pending, sent, failed,'
  || ' disabled, unconfirmed',
  'SELECT count(*) AS n FROM sales_notifications WHERE notification_status'
  || ' IS NULL OR notification_status::text NOT IN (''pending'', ''sent'','
  || ' ''failed'', ''disabled'', ''unconfirmed'')'),
 ('all_sales_tracking', 'lead_id', 'rows have a lead id that is not a number',
  'SELECT count(*) AS n FROM all_sales_tracking WHERE lead_id IS NULL OR'
  || ' lead_id::text !~ ''^[0-9]{1,18}$'''),
 ('webhook_logs', 'processing_status',
  'rows have a processing_status outside success, duplicate, skipped,'
  || ' ignored, error',
  'SELECT count(*) AS n FROM webhook_logs WHERE processing_status IS NULL'
  || ' OR processing_status::text NOT IN (''success'', ''duplicate'','
  || ' ''skipped'', ''ignored'', ''error'')')
), facts AS (
 SELECT p.tbl, format('%s %s', n.n, p.what) AS problem
 FROM probes p JOIN have h ON h.tbl = p.tbl AND h.col = p.col,
 LATERAL (SELECT (xpath('/row/n/text()', query_to_xml(p.q, false, true,
  '')))[1]::text::bigint AS n) n
 WHERE n.n > 0
)
SELECT tbl, problem FROM diff WHERE problem IS NOT NULL
UNION ALL SELECT tbl, problem FROM uniq
UNION ALL SELECT tbl, problem FROM facts
ORDER BY 1, 2
