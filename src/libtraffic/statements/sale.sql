-- A new sale in one statement: the sale, its copy for the dashboard, the
-- conversion of a unified sale (only in the variants that need one: a CTE
-- that inserts nothing still costs an executor), its 'won' event, its
-- messages, its log row.  A lead already stored inserts nothing and logs
-- nothing (sale.id is NULL): lead_event.sql then says what it changes.
--
-- Its log row carries what the old handler's log viewer shows (the lead as
-- received in deal_data, pipeline_id, utm_source, utm_campaign).
--
-- Its messages wait in the outbox for the sidecar (claim.sql), which the
-- worker wakes after answering; the worker claims none itself.
--
--   $1 lead_id, $2 lead_name, $3 price, $4 currency, $5 product,
--   $6 targetologist, $7 emoji, $8-$13 utm_source, utm_medium, utm_campaign,
--   utm_content, utm_term, utm_id, $14 pipeline_id, $15 status_id,
--   $16 responsible_user_id, $17 received_at, $18 notification_status,
--   $19 the lead's JSON, $20 the chats (text[]), $21 their threads
--   (bigint[]), $22 source, $23 event, $24 request_id, $25 the log body,
--   $26 routing, $27 enrich_status, $28 the account's API base, $29 the
--   lead's own modification time (unix seconds, NULL: unknown), $30 the log
--   row's detail (why the price is unknown), $31 (conv) the referral code.
--
-- One row: the new sale's id (NULL: stored already) and its log status.
--@variant sale
--@variant sale_conv conv
WITH raw AS (SELECT $19::jsonb AS j
), sale AS (
 INSERT INTO sales_notifications (lead_id, lead_name, sale_amount,
  currency, product_name, targetologist, targetologist_emoji,
  utm_source, utm_medium, utm_campaign, utm_content, utm_term, utm_id,
  pipeline_id, status_id, responsible_user_id, sale_date,
  notification_status, raw_webhook_data, enrich_status, amocrm_base,
  lead_updated_at, source)
 SELECT $1, $2, $3::numeric, $4, $5, $6, $7, $8, $9, $10, $11, $12,
  $13, $14, $15, $16, $17::timestamptz, $18, raw.j, $27, $28,
  to_timestamp($29::bigint), $22 FROM raw
 ON CONFLICT (lead_id) DO NOTHING
 RETURNING id, lead_name, contact_name,
  trim_scale(sale_amount)::text AS price, currency, product_name,
  targetologist, targetologist_emoji, utm_campaign
), tracking AS (
 INSERT INTO all_sales_tracking (lead_id, lead_name, sale_amount,
  currency, product_name, targetologist, utm_source, utm_medium,
  utm_campaign, utm_content, utm_term, utm_id, pipeline_id, status_id,
  responsible_user_id, sale_date, webhook_received_at, source,
  raw_webhook_data)
 SELECT $1, $2, $3::numeric, $4, $5, $6, $8, $9, $10, $11, $12, $13,
  $14, $15, $16, $17::timestamptz, $17::timestamptz, $22, raw.j
 FROM raw, sale ON CONFLICT (lead_id) DO NOTHING
)
--@if conv
, conv AS (
 INSERT INTO referral_conversions (lead_id, referral_code, amount,
  currency, lead_name, utm_campaign, routing_decision, converted_at)
 VALUES ($1, $31, $3::numeric, $4, $2, $10, $26, $17::timestamptz)
 ON CONFLICT (lead_id) DO NOTHING
)
--@endif
, ev AS (
 INSERT INTO sale_events (lead_id, kind, source, detail)
 SELECT $1, 'won', CASE WHEN $23 = 'reconcile' THEN 'reconcile'
  ELSE 'webhook' END, jsonb_build_object('amount', $3::numeric,
  'targetologist', $6::text) FROM sale
)
, outbox AS (
 INSERT INTO notification_outbox (sale_id, lead_id, chat_id, thread_id,
  next_attempt_at)
 SELECT sale.id, $1, u.chat_id, u.thread_id, CASE WHEN $27 = 'pending'
  THEN 'infinity' ELSE $17::timestamptz END
 FROM sale, unnest($20::text[], $21::bigint[]) AS u(chat_id, thread_id)
), log AS (
 INSERT INTO webhook_logs (received_at, source, event_type, lead_id,
  request_id, routing_decision, processing_status, targetologist,
  raw_body, detail, deal_data, pipeline_id, utm_source, utm_campaign)
 SELECT $17::timestamptz, $22, $23, $1, $24, $26, 'success', $6, $25,
  $30::text, raw.j, $14, $8, $10 FROM raw, sale
 RETURNING processing_status
)
SELECT sale.id AS sale_id, (SELECT processing_status FROM log) AS status
FROM (SELECT 1) one LEFT JOIN sale ON true
