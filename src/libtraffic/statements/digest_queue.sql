-- Queues a day's summary for every sales chat that has none yet (its
-- dedupe_key decides, whoever comes first); with $5 (the operator's), also
-- again where it failed or was given up.  One row per chat queued.
--   $1 the day (YYYY-MM-DD), $2 the text (HTML), $3 the chats (text[]),
--   $4 their threads (bigint[]), $5 again (boolean)
INSERT INTO notification_outbox (kind, chat_id, thread_id, body, dedupe_key)
SELECT 'digest', c.id, c.th, $2,
 'digest:' || $1 || ':' || c.id || ':' || coalesce(c.th, 0)
FROM unnest($3::text[], $4::bigint[]) AS c(id, th)
ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO UPDATE
SET status = 'pending', attempts = 0, next_attempt_at = now(),
 lease_until = NULL, body = EXCLUDED.body,
 last_error = 'sent again by the operator'
WHERE $5::boolean AND notification_outbox.status IN ('failed', 'disabled')
RETURNING id
