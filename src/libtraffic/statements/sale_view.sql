-- A stored sale as its message shows it (the claim columns of the view),
-- and its notification_status.
--   $1 lead_id
SELECT contact_name AS client, trim_scale(sale_amount)::text AS price,
 currency, product_name AS product, targetologist,
 targetologist_emoji AS emoji, utm_campaign AS campaign,
 notification_status
FROM sales_notifications WHERE lead_id = $1
