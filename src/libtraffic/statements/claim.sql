-- Claims the next message of one chat that is neither held nor paced (a
-- sale waiting for the AmoCRM API has its rows due at 'infinity' until
-- enrichment is done with it; so have an edit or reply until the message
-- it is about is sent).  The chat's row is locked SKIP LOCKED, so
-- concurrent claimers take other chats and nobody waits; the chat is then
-- held for the lease, which the outcome (traffic_outbox_record) ends.
--
-- The chat's messages go in the order of their sales: the oldest due one
-- first.  When that is a sale's and more than $2 (TELEGRAM_BATCH_AFTER, 0:
-- never) sale messages of the chat and thread are due, up to ten of them,
-- oldest first, are claimed together for one combined message; each row
-- then says how many (batch_size, on the first, in order).
--
-- A chat is found by asking each chat whether it has a due message, along
-- its pending index: the OFFSET 0 keeps PostgreSQL from turning the EXISTS
-- into a join that reads every due row of the outbox (after a burst of
-- thousands, that was 3 to 15 ms a claim and most of PostgreSQL's time),
-- and the ORDER BY from a scan of the table that expects pending rows
-- anywhere, where they are the newest (30,000 sent rows read for one).
--
-- claim_own finds the chat through a worker's own new sales ($3, the
-- lead_id index), so it never walks the whole queue; it then sends the
-- chat's next message, its own or an older one waiting.
--   $1 the lease (ms), $2 TELEGRAM_BATCH_AFTER, $3 (claim_own) the leads
-- Returns the claim columns, as the sale statement does.
--@variant claim_due
--@variant claim_own own
WITH chat AS (
 SELECT c.chat_id FROM telegram_chats c
 WHERE c.next_at <= now() AND EXISTS (SELECT 1 FROM notification_outbox o
  WHERE o.chat_id = c.chat_id AND o.status = 'pending'
--@if own
  AND o.lead_id = ANY ($3::bigint[])
--@endif
  AND o.next_attempt_at <= now()
  AND (o.lease_until IS NULL OR o.lease_until < now())
  ORDER BY o.created_at, o.id OFFSET 0)
 ORDER BY c.next_at LIMIT 1 FOR UPDATE SKIP LOCKED
), first AS (
 SELECT o.id, o.kind, coalesce(o.thread_id, 0) AS thread
 FROM notification_outbox o
 WHERE o.chat_id = (SELECT chat_id FROM chat)
  AND o.status = 'pending' AND o.next_attempt_at <= now()
  AND (o.lease_until IS NULL OR o.lease_until < now())
 ORDER BY o.created_at, o.id LIMIT 1
), sales AS (
 -- as many as a message takes, or as decide it ($2 + 1): along the
 -- chat's pending index in order, never the whole queue (sql/010)
 SELECT d.id, row_number() OVER (ORDER BY d.created_at, d.id) AS n
 FROM (SELECT o.id, o.created_at FROM notification_outbox o, first f
  WHERE f.kind = 'sale' AND $2::integer > 0
   AND o.chat_id = (SELECT chat_id FROM chat)
   AND o.status = 'pending' AND o.next_attempt_at <= now()
   AND (o.lease_until IS NULL OR o.lease_until < now())
   AND o.kind = 'sale' AND coalesce(o.thread_id, 0) = f.thread
  ORDER BY o.created_at, o.id
  LIMIT greatest($2::integer, 10) + 1) d
), pick AS (
 SELECT id, 1 AS n, 1 AS size FROM first
 WHERE (SELECT count(*) FROM sales) <= $2::integer
 UNION ALL
 SELECT id, n, (SELECT least(count(*), 10) FROM sales)::integer FROM sales
 WHERE n <= 10 AND (SELECT count(*) FROM sales) > $2::integer
), claim AS (
 -- the rows by their ids (an index condition): a join with pick alone is
 -- planned once per session, and a session that starts on an empty outbox
 -- kept a hash join over the whole table as it grew
 UPDATE notification_outbox o
 SET lease_until = now() + $1 * interval '1 millisecond',
  attempts = o.attempts + 1
 FROM pick WHERE o.id = ANY (ARRAY(SELECT id FROM pick)) AND o.id = pick.id
 RETURNING o.id, o.sale_id, o.kind, o.chat_id, o.thread_id, o.attempts,
  o.reply_to, o.event_id, o.body, pick.n, pick.size
), hold AS (
 UPDATE telegram_chats c SET next_at = now() + $1 * interval
  '1 millisecond' WHERE c.chat_id = (SELECT chat_id FROM claim LIMIT 1)
)
SELECT claim.id AS outbox_id, claim.kind::text AS kind, claim.chat_id,
 coalesce(claim.thread_id, 0) AS thread_id, claim.attempts, s.lead_id,
 p.telegram_message_id AS target_message_id, p.batch_id AS target_batch,
 claim.size AS batch_size, claim.body, e.kind::text AS event_kind,
 e.detail::text AS event_detail, s.lead_name, s.contact_name AS client,
 trim_scale(s.sale_amount)::text AS price, s.currency,
 s.product_name AS product, s.targetologist,
 s.targetologist_emoji AS emoji, s.utm_campaign AS campaign
FROM claim LEFT JOIN sales_notifications s ON s.id = claim.sale_id
LEFT JOIN notification_outbox p ON p.id = claim.reply_to
LEFT JOIN sale_events e ON e.id = claim.event_id
ORDER BY claim.n
