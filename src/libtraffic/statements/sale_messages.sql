-- traffic-ctl sale: the messages of lead $1 (the sale's, its edits and
-- replies), oldest first.
SELECT id, kind, chat_id, coalesce(thread_id::text, '') AS thread,
 status, attempts, coalesce(telegram_message_id::text, '') AS message_id,
 coalesce(reply_to::text, '') AS about, coalesce(last_error, '') AS note
FROM notification_outbox WHERE lead_id = $1 ORDER BY id
