-- traffic-ctl reassign: a sale moved to another targetologist on purpose
-- (a sale's attribution is otherwise frozen when it is won): both tables,
-- a 'reassigned' event (source 'operator'), edits of its sent messages.
-- One row when the sale exists: its old targetologist, whether it changed,
-- how many edits were queued.
--   $1 lead_id, $2 targetologist, $3 emoji
WITH s AS (
 SELECT id, targetologist FROM sales_notifications WHERE lead_id = $1
 FOR UPDATE
), u AS (
 UPDATE sales_notifications n SET targetologist = $2,
  targetologist_emoji = $3, updated_at = now()
 FROM s WHERE n.id = s.id AND s.targetologist IS DISTINCT FROM $2
 RETURNING n.id
), t AS (
 UPDATE all_sales_tracking SET targetologist = $2, updated_at = now()
 WHERE lead_id = $1 AND EXISTS (SELECT 1 FROM u)
), e AS (
 INSERT INTO sale_events (lead_id, kind, source, detail)
 SELECT $1, 'reassigned', 'operator', jsonb_build_object(
  'old_targetologist', s.targetologist, 'targetologist', $2::text)
 FROM s, u RETURNING id
), o AS (
 INSERT INTO notification_outbox (sale_id, lead_id, chat_id, thread_id,
  kind, reply_to, event_id, next_attempt_at)
 SELECT m.sale_id, m.lead_id, m.chat_id, m.thread_id, 'edit', m.id, e.id,
  CASE WHEN m.status = 'sent' THEN now() ELSE 'infinity' END
 FROM notification_outbox m, e, u
 WHERE m.sale_id = u.id AND m.kind = 'sale'
  AND (m.status = 'sent' OR (m.status = 'pending' AND m.lease_until > now()))
 ON CONFLICT (reply_to) WHERE kind = 'edit' AND status = 'pending'
 DO NOTHING RETURNING 1
)
SELECT s.targetologist, (SELECT count(*) FROM u) AS changed,
 (SELECT count(*) FROM o) AS edits FROM s
