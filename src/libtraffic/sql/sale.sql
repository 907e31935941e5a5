-- A new sale in one statement: the sale, its copy for the dashboard, the
-- conversion of a unified sale (only in the variants that need one: a CTE
-- that inserts nothing still costs an executor), its 'won' event, its
-- messages, its log row.  A lead already stored inserts nothing and logs
-- nothing (sale.id is NULL): lead_event.sql then says what it changes.
--
-- The messages a worker sends itself once AmoCRM has its answer are claimed
-- here too (a claim without a round trip of its own): with $29 set, an
-- unpaced chat takes every message of the sale, a paced one (its row locked
-- SKIP LOCKED, as claim_due does) takes one and is held for the lease, unless
-- older messages wait for it (they go first, claim_due's order).
--
--   $1 lead_id, $2 lead_name, $3 price, $4 currency, $5 product,
--   $6 targetologist, $7 emoji, $8-$13 utm_source, utm_medium, utm_campaign,
--   utm_content, utm_term, utm_id, $14 pipeline_id, $15 status_id,
--   $16 responsible_user_id, $17 received_at, $18 notification_status,
--   $19 the lead's JSON, $20 the chats (text[]), $21 their threads
--   (bigint[]), $22 source, $23 event, $24 request_id, $25 the log body,
--   $26 routing, $27 enrich_status, $28 the account's API base, $29 the
--   lease (ms) of claimed messages (NULL: claim none), $30 the lead's own
--   modification time (unix seconds, NULL: unknown), $31 the log row's
--   detail (why the price is unknown), $32 (conv) the referral code.
--
-- One row, or one per message claimed: the sale, then the message in the
-- claim columns (outbox.c reads them by name, as it does claim_due's).
--@variant sale_free
--@variant sale_paced paced
--@variant sale_conv_free conv
--@variant sale_conv_paced conv paced
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
  to_timestamp($30::bigint), $22 FROM raw
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
 VALUES ($1, $32, $3::numeric, $4, $2, $10, $26, $17::timestamptz)
 ON CONFLICT (lead_id) DO NOTHING
)
--@endif
, ev AS (
 INSERT INTO sale_events (lead_id, kind, source, detail)
 SELECT $1, 'won', CASE WHEN $23 = 'reconcile' THEN 'reconcile'
  ELSE 'webhook' END, jsonb_build_object('amount', $3::numeric,
  'targetologist', $6::text) FROM sale
)
--@if paced
, chat AS (
 UPDATE telegram_chats c SET next_at = now() + $29::bigint
  * interval '1 millisecond'
 FROM (SELECT k.chat_id FROM telegram_chats k
  WHERE k.chat_id = ANY ($20::text[]) AND k.next_at <= now()
   AND $29::bigint IS NOT NULL AND $27 <> 'pending'
   AND EXISTS (SELECT 1 FROM sale)
   -- older messages waiting for the chat go first (claim_due's order)
   AND NOT EXISTS (SELECT 1 FROM notification_outbox w
    WHERE w.chat_id = k.chat_id AND w.status = 'pending'
     AND w.next_attempt_at <= now())
  FOR UPDATE SKIP LOCKED) free
 WHERE c.chat_id = free.chat_id RETURNING c.chat_id, false AS all_rows
)
--@else
, chat AS (
 SELECT k.chat_id, true AS all_rows FROM telegram_chats k
 WHERE k.chat_id = ANY ($20::text[]) AND k.next_at <= now()
  AND $29::bigint IS NOT NULL AND $27 <> 'pending'
)
--@endif
, outbox AS (
 INSERT INTO notification_outbox (sale_id, lead_id, chat_id, thread_id,
  next_attempt_at, lease_until, attempts)
 SELECT sale.id, $1, c.chat_id, c.thread_id, CASE WHEN $27 = 'pending'
  THEN 'infinity' ELSE $17::timestamptz END,
  CASE WHEN c.mine THEN now() + $29::bigint * interval '1 millisecond'
  END, CASE WHEN c.mine THEN 1 ELSE 0 END
 FROM sale, (SELECT u.chat_id, u.thread_id,
   u.chat_id IN (SELECT chat_id FROM chat WHERE all_rows)
   OR (u.rn = 1 AND u.chat_id IN (SELECT chat_id FROM chat)) AS mine
  FROM (SELECT v.chat_id, v.thread_id, row_number() OVER (PARTITION BY
   v.chat_id ORDER BY v.n) AS rn FROM unnest($20::text[],
   $21::bigint[]) WITH ORDINALITY AS v(chat_id, thread_id, n)) u) c
 RETURNING id, lead_id, chat_id, thread_id, attempts,
  lease_until IS NOT NULL AS mine
), log AS (
 INSERT INTO webhook_logs (received_at, source, event_type, lead_id,
  request_id, routing_decision, processing_status, targetologist,
  raw_body, detail)
 SELECT $17::timestamptz, $22, $23, $1, $24, $26, 'success', $6, $25,
  $31::text FROM sale
 RETURNING processing_status
)
SELECT sale.id AS sale_id, (SELECT processing_status FROM log) AS status,
 o.id AS outbox_id, 'sale'::text AS kind, o.chat_id,
 coalesce(o.thread_id, 0) AS thread_id, o.attempts, o.lead_id,
 NULL::bigint AS target_message_id, NULL::bigint AS target_batch,
 1 AS batch_size, NULL::text AS body, NULL::text AS event_kind,
 NULL::text AS event_detail, sale.lead_name, sale.contact_name AS client,
 sale.price, sale.currency, sale.product_name AS product,
 sale.targetologist, sale.targetologist_emoji AS emoji,
 sale.utm_campaign AS campaign
FROM (SELECT 1) one LEFT JOIN sale ON true
LEFT JOIN outbox o ON o.mine
