-- A referral sale of the unified endpoint: a conversion (one per lead) and
-- its log row, no sale.
--   $1 lead_id, $2 referral code, $3 price, $4 currency, $5 lead_name,
--   $6 utm_campaign, $7 received_at, $8 source, $9 event, $10 request_id,
--   $11 the log body
WITH conv AS (
 INSERT INTO referral_conversions (lead_id, referral_code, amount,
  currency, lead_name, utm_campaign, routing_decision, converted_at)
 VALUES ($1, $2, $3::numeric, $4, $5, $6, 'referral', $7::timestamptz)
 ON CONFLICT (lead_id) DO NOTHING RETURNING id
)
INSERT INTO webhook_logs (received_at, source, event_type, lead_id,
 request_id, routing_decision, processing_status, raw_body)
SELECT $7::timestamptz, $8, $9, $1, $10, 'referral',
 CASE WHEN EXISTS (SELECT 1 FROM conv) THEN 'success'
 ELSE 'duplicate' END, $11
RETURNING processing_status
