-- GET /admin/: the last 20 sales, with their message's state, in the team's
-- time zone $1.
SELECT to_char(sale_date AT TIME ZONE $1, 'DD.MM HH24:MI') AS at, lead_id,
 coalesce(lead_name, '') AS lead_name, targetologist,
 coalesce(targetologist_emoji, '') AS emoji,
 coalesce(trim_scale(sale_amount)::text, '') AS amount, currency,
 notification_status, sale_state
FROM sales_notifications ORDER BY sale_date DESC, id DESC LIMIT 20
