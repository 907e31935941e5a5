-- Makes every chat with pending messages known, configured or not any more.
INSERT INTO telegram_chats (chat_id) SELECT DISTINCT chat_id
FROM notification_outbox WHERE status = 'pending'
ON CONFLICT DO NOTHING
