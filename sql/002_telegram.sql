-- 002: Telegram delivery across the pool: per-chat pacing, and the one
-- function that records what happened to a message.
--
-- A message is sent by whoever claims its notification_outbox row (a worker
-- after answering AmoCRM, or the traffic-ctl deliver sidecar).  Claims go
-- through telegram_chats: the claimer locks the chat's row (SKIP LOCKED, so
-- nobody waits), takes the chat's oldest due message and holds the chat
-- until the outcome is recorded or the lease runs out.  So one chat has at
-- most one message in flight, and traffic_outbox_record spaces the next one
-- by the configured interval, the 20-per-minute group limit and Telegram's
-- retry_after.

CREATE TABLE IF NOT EXISTS telegram_chats (
    chat_id      text PRIMARY KEY,
    next_at      timestamptz NOT NULL DEFAULT '-infinity',
    recent       timestamptz[] NOT NULL DEFAULT '{}',   -- last sends (groups)
    migrated_to  text,                                  -- Telegram said so
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- A claim looks for a chat's oldest due message: without this index every
-- claim would walk all pending rows, and a burst makes that thousands.
CREATE INDEX IF NOT EXISTS notification_outbox_chat_due_idx
    ON notification_outbox (chat_id, next_attempt_at, id)
    WHERE status = 'pending';

-- What happened to a message: traffic_outbox_record records one send's
-- outcome (its first version; functions/ holds the current one).
\ir functions/traffic_outbox_record.sql

INSERT INTO schema_migrations (version) VALUES ('002') ON CONFLICT DO NOTHING;
