-- What the API added to a confirmed sale, in both sale tables (and the
-- conversion) in one statement; its messages become due, unless it is a
-- referral after all (enrich_reverse.sql then gives them up: never due, no
-- sender can take one in between).
--   $1 sale id, $2 lead_name, $3 price, $4-$9 the UTM values,
--   $10 targetologist, $11 emoji, $12 contact name, $13 phone, $14 e-mail,
--   $15 responsible_user_id, $16 whether its messages become due
WITH s AS (
 UPDATE sales_notifications SET lead_name = coalesce(lead_name, $2),
  sale_amount = coalesce(sale_amount, $3::numeric), utm_source = $4,
  utm_medium = $5, utm_campaign = $6, utm_content = $7, utm_term = $8,
  utm_id = $9, targetologist = $10, targetologist_emoji = $11,
  contact_name = $12, contact_phone = $13, contact_email = $14,
  responsible_user_id = coalesce(responsible_user_id, $15::bigint),
  enriched = true, enrich_status = 'done', enrich_error = NULL,
  enrich_lease_until = NULL, updated_at = now()
 WHERE id = $1
 RETURNING lead_id, lead_name, sale_amount, utm_source, utm_medium,
  utm_campaign, utm_content, utm_term, utm_id, targetologist,
  contact_name, contact_phone, contact_email, responsible_user_id
), o AS (
 UPDATE notification_outbox o SET next_attempt_at = now() FROM s
 WHERE o.lead_id = s.lead_id AND o.status = 'pending' AND o.kind = 'sale'
  AND $16::boolean
), c AS (
 UPDATE referral_conversions r SET client_name = s.contact_name,
  amount = coalesce(r.amount, s.sale_amount)
 FROM s WHERE r.lead_id = s.lead_id
)
UPDATE all_sales_tracking t SET lead_name = s.lead_name,
 sale_amount = s.sale_amount, utm_source = s.utm_source,
 utm_medium = s.utm_medium, utm_campaign = s.utm_campaign,
 utm_content = s.utm_content, utm_term = s.utm_term, utm_id = s.utm_id,
 targetologist = s.targetologist, contact_name = s.contact_name,
 contact_phone = s.contact_phone, contact_email = s.contact_email,
 responsible_user_id = s.responsible_user_id, updated_at = now()
FROM s WHERE t.lead_id = s.lead_id
