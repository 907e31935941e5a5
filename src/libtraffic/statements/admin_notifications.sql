-- GET /api/admin/notifications: the outbox, newest first, as JSON (the
-- daily summaries too: kind 'digest', no sale).
--   $1 limit, $2 status (NULL: any)
SELECT json_build_object('success', true, 'count', count(*),
 'notifications', coalesce(json_agg(n ORDER BY n.created_at DESC,
 n.id DESC), '[]'))::text AS answer FROM (
 SELECT o.id, o.kind, o.lead_id, o.chat_id, o.thread_id, o.status,
  o.attempts,
  o.next_attempt_at, o.last_error, o.telegram_message_id, o.sent_at,
  o.created_at, s.targetologist, s.sale_amount, s.currency,
  s.notification_status
 FROM notification_outbox o LEFT JOIN sales_notifications s
  ON s.id = o.sale_id
 WHERE ($2::text IS NULL OR o.status = $2)
 ORDER BY o.created_at DESC, o.id DESC LIMIT $1::bigint) n
