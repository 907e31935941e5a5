-- GET /admin/: why messages failed for good, the commonest first.
SELECT coalesce(last_error, '') AS reason, count(*) AS n,
 string_agg(DISTINCT chat_id, ', ') AS chats
FROM notification_outbox WHERE status = 'failed'
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10
