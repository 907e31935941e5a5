-- Claims the oldest due message of one chat that is neither held nor paced
-- (a sale waiting for the AmoCRM API has its rows due at 'infinity' until
-- enrichment is done with it; so have an edit or reply until the message
-- it is about is sent).  The chat's row is locked SKIP LOCKED, so
-- concurrent claimers take other chats and nobody waits; the chat is then
-- held for the lease, which the outcome (traffic_outbox_record) ends.
--
-- claim_own takes only the rows of a worker's own new sales ($2): found
-- through the lead_id index, it never walks the queue (whose partial index
-- fills with dead entries under load); the backlog is the sidecar's.
--   $1 the lease (ms), $2 (claim_own) the leads (bigint[])
-- Returns the claim columns, as the sale statement does.
--@variant claim_due
--@variant claim_own own
WITH chat AS (
 SELECT c.chat_id FROM telegram_chats c
 WHERE c.next_at <= now() AND EXISTS (SELECT 1 FROM notification_outbox o
  WHERE o.chat_id = c.chat_id AND o.status = 'pending'
--@if own
  AND o.lead_id = ANY ($2::bigint[])
--@endif
  AND o.next_attempt_at <= now()
  AND (o.lease_until IS NULL OR o.lease_until < now()))
 ORDER BY c.next_at LIMIT 1 FOR UPDATE SKIP LOCKED
), pick AS (
 SELECT o.id FROM notification_outbox o
 WHERE o.chat_id = (SELECT chat_id FROM chat)
--@if own
  AND o.lead_id = ANY ($2::bigint[])
--@endif
  AND o.status = 'pending' AND o.next_attempt_at <= now()
  AND (o.lease_until IS NULL OR o.lease_until < now())
 ORDER BY o.next_attempt_at, o.id LIMIT 1
), claim AS (
 UPDATE notification_outbox o
 SET lease_until = now() + $1 * interval '1 millisecond',
  attempts = o.attempts + 1
 FROM pick WHERE o.id = pick.id
 RETURNING o.id, o.sale_id, o.kind, o.chat_id, o.thread_id, o.attempts,
  o.reply_to, o.event_id
), hold AS (
 UPDATE telegram_chats c SET next_at = now() + $1 * interval
  '1 millisecond' FROM claim WHERE c.chat_id = claim.chat_id
)
SELECT claim.id AS outbox_id, claim.kind::text AS kind, claim.chat_id,
 coalesce(claim.thread_id, 0) AS thread_id, claim.attempts, s.lead_id,
 p.telegram_message_id AS target_message_id, e.kind::text AS event_kind,
 e.detail::text AS event_detail, s.lead_name, s.contact_name AS client,
 trim_scale(s.sale_amount)::text AS price, s.currency,
 s.product_name AS product, s.targetologist,
 s.targetologist_emoji AS emoji, s.utm_campaign AS campaign
FROM claim JOIN sales_notifications s ON s.id = claim.sale_id
LEFT JOIN notification_outbox p ON p.id = claim.reply_to
LEFT JOIN sale_events e ON e.id = claim.event_id
