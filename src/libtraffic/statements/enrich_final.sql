-- The end of enrichment without the API's data: 'failed' (the messages go
-- now, with the webhook's data) or 'unconfirmed' (they never go).
--   $1 sale id, $2 'failed' or 'unconfirmed', $3 why
WITH s AS (
 UPDATE sales_notifications SET enrich_status = $2::text,
  enrich_error = $3,
  enrich_lease_until = NULL, updated_at = now(),
  notification_status = CASE WHEN $2 = 'unconfirmed' THEN 'unconfirmed'
   ELSE notification_status END
 WHERE id = $1 RETURNING id
)
UPDATE notification_outbox o SET next_attempt_at = now(),
 status = CASE WHEN $2 = 'unconfirmed' THEN 'disabled' ELSE status END,
 last_error = CASE WHEN $2 = 'unconfirmed' THEN $3 ELSE last_error END
FROM s WHERE o.sale_id = s.id AND o.status = 'pending' AND o.kind = 'sale'
