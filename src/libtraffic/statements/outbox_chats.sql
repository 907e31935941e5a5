-- Makes the configured chats ($1, text[]) known for claims.
INSERT INTO telegram_chats (chat_id) SELECT unnest($1::text[])
ON CONFLICT DO NOTHING
