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

-- Records the outcome of one send of outbox row p_id and returns the row's
-- new status ('sent', 'pending' or 'failed'; NULL if the row is gone).
--   p_outcome      'sent', 'retry' (transient) or 'failed' (permanent)
--   p_message_id   Telegram's message_id when sent
--   p_error        what went wrong (or a note when sent, e.g. a migration)
--   p_delay_ms     retry: when to try again (429: retry_after)
--   p_chat_id      the chat it finally went to, when Telegram moved it
-- The sale's notification_status follows: 'sent' when every chat got it,
-- 'failed' when one failed for good, else 'pending'.  The sale row is locked
-- first, so two chats of one sale recorded at once cannot both miss the
-- other's outcome.
CREATE OR REPLACE FUNCTION traffic_outbox_record(
    p_id bigint, p_outcome text, p_message_id bigint, p_error text,
    p_delay_ms bigint, p_chat_id text, p_interval_ms integer,
    p_group_limit integer, p_max_attempts integer, p_max_age_s integer)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r notification_outbox%ROWTYPE;
    v_status text;
    v_chat text;
    v_recent timestamptz[];
    v_next timestamptz;
BEGIN
    SELECT * INTO r FROM notification_outbox WHERE id = p_id;
    IF NOT FOUND THEN
        RETURN NULL;            -- purged while it was being sent
    END IF;
    PERFORM 1 FROM sales_notifications WHERE id = r.sale_id FOR UPDATE;

    v_chat := coalesce(p_chat_id, r.chat_id);
    IF v_chat <> r.chat_id AND EXISTS (SELECT 1 FROM notification_outbox o
            WHERE o.sale_id = r.sale_id AND o.chat_id = v_chat
              AND coalesce(o.thread_id, 0) = coalesce(r.thread_id, 0)) THEN
        v_chat := r.chat_id;    -- the new chat has its own row already
    END IF;
    IF p_chat_id IS NOT NULL AND p_chat_id <> r.chat_id THEN
        INSERT INTO telegram_chats (chat_id) VALUES (p_chat_id)
            ON CONFLICT DO NOTHING;
        UPDATE telegram_chats SET migrated_to = p_chat_id, updated_at = now()
            WHERE chat_id = r.chat_id;
    END IF;

    IF p_outcome = 'sent' THEN
        v_status := 'sent';
    ELSIF p_outcome = 'failed' OR r.attempts >= p_max_attempts
          OR r.created_at < now() - make_interval(secs => p_max_age_s) THEN
        v_status := 'failed';
    ELSE
        v_status := 'pending';
    END IF;

    -- pacing of the chat the message went to (the chat row is locked before
    -- the outbox row, the order a claim takes them in)
    INSERT INTO telegram_chats (chat_id) VALUES (v_chat)
        ON CONFLICT DO NOTHING;
    SELECT recent INTO v_recent FROM telegram_chats
        WHERE chat_id = v_chat FOR UPDATE;
    v_next := now() + p_interval_ms * interval '1 millisecond';
    IF p_outcome = 'sent' AND p_group_limit > 0 AND v_chat LIKE '-%' THEN
        v_recent := v_recent || now();
        IF cardinality(v_recent) > p_group_limit THEN
            v_recent := v_recent[cardinality(v_recent) - p_group_limit + 1 :];
        END IF;
        IF cardinality(v_recent) >= p_group_limit THEN
            v_next := greatest(v_next, v_recent[1] + interval '60 seconds');
        END IF;
    ELSIF p_outcome = 'retry' THEN
        v_next := greatest(v_next,
                           now() + p_delay_ms * interval '1 millisecond');
    END IF;
    UPDATE telegram_chats SET next_at = v_next, recent = v_recent,
        updated_at = now() WHERE chat_id = v_chat;
    IF r.chat_id <> v_chat THEN
        -- release the hold the claim put on the old chat
        UPDATE telegram_chats SET next_at = now() WHERE chat_id = r.chat_id;
    END IF;

    UPDATE notification_outbox SET
        status = v_status,
        chat_id = v_chat,
        lease_until = NULL,
        last_error = p_error,
        telegram_message_id = coalesce(p_message_id, telegram_message_id),
        sent_at = CASE WHEN v_status = 'sent' THEN now() ELSE sent_at END,
        next_attempt_at = CASE WHEN v_status = 'pending'
            THEN now() + p_delay_ms * interval '1 millisecond'
            ELSE next_attempt_at END
    WHERE id = p_id;

    UPDATE sales_notifications s SET
        notification_status = CASE WHEN a.failed > 0 THEN 'failed'
                                   WHEN a.pending = 0 THEN 'sent'
                                   ELSE 'pending' END,
        notified_at = CASE WHEN a.failed = 0 AND a.pending = 0
                           THEN a.last_sent ELSE s.notified_at END,
        updated_at = now()
    FROM (SELECT count(*) FILTER (WHERE status = 'failed') AS failed,
                 count(*) FILTER (WHERE status = 'pending') AS pending,
                 max(sent_at) AS last_sent
          FROM notification_outbox WHERE sale_id = r.sale_id) a
    WHERE s.id = r.sale_id
      AND s.notification_status IN ('pending', 'sent', 'failed');
    RETURN v_status;
END
$$;

INSERT INTO schema_migrations (version) VALUES ('002') ON CONFLICT DO NOTHING;
