-- 010: a chat's pending messages in the order they are sent.  A claim
-- takes the oldest due message of a chat and, for a combined message, the
-- next few: along this index it reads those rows, where before it sorted
-- every pending row of the chat (a backlog of thousands after a burst made
-- each claim slower than a send).
CREATE INDEX IF NOT EXISTS notification_outbox_chat_order_idx
    ON notification_outbox (chat_id, created_at, id)
    WHERE status = 'pending';

INSERT INTO schema_migrations (version) VALUES ('010') ON CONFLICT DO NOTHING;
