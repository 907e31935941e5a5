-- What is still pending: the messages whose own time has come, all of them,
-- and the seconds until the next one can go (0: now; -1: none pending).
-- (greatest() skips NULLs: the "none" is decided on the minimum itself, or
-- an empty outbox would read as "now" and the sidecar would never nap.)
SELECT count(*) FILTER (WHERE p.next_attempt_at <= now()) AS due,
 count(*) AS pending,
 CASE WHEN min(p.at) IS NULL THEN -1
  ELSE greatest(0, extract(epoch FROM min(p.at) - now())) END AS next_in
FROM (SELECT o.next_attempt_at, CASE WHEN o.next_attempt_at < 'infinity'
  THEN greatest(o.next_attempt_at, c.next_at, o.lease_until) END AS at
 FROM notification_outbox o LEFT JOIN telegram_chats c USING (chat_id)
 WHERE o.status = 'pending') p
