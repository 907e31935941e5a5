-- Makes every pending message due now (traffic-ctl deliver --now); pacing
-- and messages in flight are kept.  Returns how many were waiting.
WITH r AS (
 UPDATE notification_outbox SET next_attempt_at = now()
 WHERE status = 'pending' AND next_attempt_at > now()
  AND next_attempt_at <> 'infinity'
  AND (lease_until IS NULL OR lease_until < now())
 RETURNING chat_id
), c AS (
 UPDATE telegram_chats c SET next_at = now()
 WHERE c.next_at > now() AND c.chat_id IN (SELECT chat_id FROM r)
  AND NOT EXISTS (SELECT 1 FROM notification_outbox o
   WHERE o.chat_id = c.chat_id AND o.lease_until > now())
)
SELECT count(*) AS released FROM r
