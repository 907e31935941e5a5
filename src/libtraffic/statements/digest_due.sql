-- The days whose summary is due and not queued for every chat: today once
-- DIGEST_AT has passed, and yesterday (a sidecar away at its time sends it
-- late), never a day whose time came before the install (migration 009).
--   $1 DIGEST_TZ, $2 DIGEST_AT (minutes after midnight), $3 the chats
--   (text[]), $4 their threads (bigint[])
-- Each day as YYYY-MM-DD, and whether it is late (past its time by 15 min).
WITH days AS (
 SELECT d.day, (d.day + $2::integer * interval '1 minute') AT TIME ZONE $1
  AS due_at
 FROM (SELECT (now() AT TIME ZONE $1)::date - k AS day
  FROM generate_series(0, 1) k) d
)
SELECT to_char(days.day, 'YYYY-MM-DD') AS day,
 days.due_at < now() - interval '15 minutes' AS late
FROM days
WHERE days.due_at <= now()
 AND days.due_at >= (SELECT applied_at FROM schema_migrations
  WHERE version = '009')
 AND EXISTS (SELECT 1 FROM unnest($3::text[], $4::bigint[]) AS c(id, th)
  WHERE NOT EXISTS (SELECT 1 FROM notification_outbox o
   WHERE o.dedupe_key = 'digest:' || to_char(days.day, 'YYYY-MM-DD') || ':'
    || c.id || ':' || coalesce(c.th, 0)))
ORDER BY days.day
