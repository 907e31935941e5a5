-- What is still pending: the messages whose own time has come, all of them,
-- and the seconds until the next one can go (0: now; -1: none pending).
SELECT count(*) FILTER (WHERE o.next_attempt_at <= now()),
 count(*), coalesce(greatest(0, extract(epoch FROM
  min(greatest(o.next_attempt_at, c.next_at, o.lease_until))
  FILTER (WHERE o.next_attempt_at < 'infinity') - now())), -1)
FROM notification_outbox o LEFT JOIN telegram_chats c USING (chat_id)
WHERE o.status = 'pending'
