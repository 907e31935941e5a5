-- A unified sale's routing once the API brought its UTM (a short-format
-- webhook has none): its log row says the new decision; a 'both'
-- conversion goes when the sale is a traffic or unknown one after all; a
-- referral's conversion gets its code.  The reversal of a referral's sale
-- is enrich_reverse's.
--   $1 lead_id, $2 the routing, $3 the referral code (utm_source)
WITH l AS (
 UPDATE webhook_logs SET routing_decision = $2
 WHERE lead_id = $1 AND source = 'amocrm' AND processing_status = 'success'
  AND routing_decision IS DISTINCT FROM $2
 RETURNING 1
), c AS (
 DELETE FROM referral_conversions
 WHERE lead_id = $1 AND routing_decision = 'both'
  AND $2 IN ('traffic', 'unknown')
 RETURNING 1
), r AS (
 INSERT INTO referral_conversions (lead_id, referral_code, amount, currency,
  lead_name, client_name, utm_campaign, routing_decision, converted_at)
 SELECT lead_id, $3, sale_amount, currency, lead_name, contact_name,
  utm_campaign, 'referral', sale_date
 FROM sales_notifications WHERE lead_id = $1 AND $2 = 'referral'
 ON CONFLICT (lead_id) DO UPDATE SET referral_code = EXCLUDED.referral_code,
  routing_decision = 'referral'
 RETURNING 1
)
SELECT (SELECT count(*) FROM l) + (SELECT count(*) FROM c)
 + (SELECT count(*) FROM r) AS changed
