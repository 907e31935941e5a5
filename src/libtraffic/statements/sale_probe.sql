-- What a role sees of the sale it just wrote (inside the rolled-back
-- transaction of tr_sale_probe): row level security may let it write rows
-- it cannot read back, or refuse one table.  $1 the probe's lead_id.
SELECT (SELECT count(*) FROM sales_notifications WHERE lead_id = $1::bigint)
  AS sales,
 (SELECT count(*) FROM all_sales_tracking WHERE lead_id = $1::bigint)
  AS tracking,
 (SELECT count(*) FROM webhook_logs WHERE lead_id = $1::bigint) AS logs
