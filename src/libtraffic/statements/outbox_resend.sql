-- Queues a stored sale's message again for every configured chat, whatever
-- happened to it before (traffic-ctl resend).  One row per chat.
--   $1 lead_id, $2 the chats (text[]), $3 their threads (bigint[])
WITH s AS (
 UPDATE sales_notifications SET notification_status = 'pending',
  notified_at = NULL, updated_at = now()
 WHERE lead_id = $1 RETURNING id, lead_id
)
INSERT INTO notification_outbox (sale_id, lead_id, chat_id,
 thread_id, last_error)
SELECT s.id, s.lead_id, c.chat_id, c.thread_id, 'resent by the operator'
FROM s, unnest($2::text[], $3::bigint[]) AS c(chat_id, thread_id)
ON CONFLICT (sale_id, chat_id, coalesce(thread_id, 0)) WHERE kind = 'sale'
DO UPDATE
SET status = 'pending', attempts = 0, next_attempt_at = now(),
 lease_until = NULL, sent_at = NULL,
 last_error = 'resent by the operator'
RETURNING id
