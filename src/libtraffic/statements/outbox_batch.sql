-- The lines of a combined message as they are stored now (an edit of it
-- shows them all, with the new price), in the order they were sent.
--   $1 the combined message's first row (batch_id)
SELECT s.contact_name AS client, trim_scale(s.sale_amount)::text AS price,
 s.currency, s.product_name AS product, s.targetologist,
 s.targetologist_emoji AS emoji, s.utm_campaign AS campaign
FROM notification_outbox o JOIN sales_notifications s ON s.id = o.sale_id
WHERE o.batch_id = $1 ORDER BY o.created_at, o.id
