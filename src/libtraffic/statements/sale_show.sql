-- traffic-ctl sale: the stored sale of $1, and whether the dashboard has it.
SELECT n.lead_id, n.sale_state, coalesce(n.lead_name, '') AS lead_name,
 coalesce(trim_scale(n.sale_amount)::text, 'unknown') AS amount,
 n.currency, n.targetologist, coalesce(n.utm_campaign, '') AS campaign,
 n.source, to_char(n.sale_date AT TIME ZONE 'UTC',
  'YYYY-MM-DD HH24:MI:SS') AS sale_utc,
 coalesce(to_char(n.lead_updated_at AT TIME ZONE 'UTC',
  'YYYY-MM-DD HH24:MI:SS'), '') AS lead_updated_utc,
 n.notification_status, n.enrich_status,
 coalesce(CASE WHEN t.sale_amount_known THEN trim_scale(t.sale_amount)::text
  ELSE 'unknown (0)' END || ' ' || t.targetologist, 'no') AS dashboard
FROM sales_notifications n LEFT JOIN all_sales_tracking t USING (lead_id)
WHERE n.lead_id = $1
