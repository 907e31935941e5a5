-- 009: Telegram for a team.  During a burst a paced chat gets its waiting
-- sales combined, up to ten in one message ("НОВЫЕ ПРОДАЖИ: N"); every sale
-- of a combined message keeps its message id and the combined message's
-- first row (batch_id), so an edit re-renders all its lines and a reply
-- answers it.  And a daily summary per chat, an outbox row of its own kind
-- (no sale; its text in body) queued once per chat and day (dedupe_key).
--
-- No table CHECK constraint is added (sql/006: they cost every insert);
-- the new kind is the domain's.

ALTER TABLE notification_outbox
    ADD COLUMN IF NOT EXISTS batch_id bigint,
    ADD COLUMN IF NOT EXISTS body text,
    ADD COLUMN IF NOT EXISTS dedupe_key text,
    ALTER COLUMN sale_id DROP NOT NULL,
    ALTER COLUMN lead_id DROP NOT NULL;

ALTER DOMAIN traffic_outbox_kind DROP CONSTRAINT traffic_outbox_kind_check;
ALTER DOMAIN traffic_outbox_kind ADD CONSTRAINT traffic_outbox_kind_check
    CHECK (VALUE IN ('sale', 'edit', 'reply', 'digest'));

-- the lines of a combined message, for its edits
CREATE INDEX IF NOT EXISTS notification_outbox_batch_idx
    ON notification_outbox (batch_id) WHERE batch_id IS NOT NULL;
-- one summary per chat and day, whoever queues it first
CREATE UNIQUE INDEX IF NOT EXISTS notification_outbox_dedupe_key
    ON notification_outbox (dedupe_key) WHERE dedupe_key IS NOT NULL;

-- traffic_outbox_record (sql/007) for combined messages: p_pace false for
-- the sales after the first (the chat is paced once per message sent), and
-- p_batch_id the combined message's first row, kept once it is sent.
DROP FUNCTION IF EXISTS traffic_outbox_record(bigint, text, bigint, text,
    bigint, text, integer, integer, integer, integer);
CREATE OR REPLACE FUNCTION traffic_outbox_record(
    p_id bigint, p_outcome text, p_message_id bigint, p_error text,
    p_delay_ms bigint, p_chat_id text, p_interval_ms integer,
    p_group_limit integer, p_max_attempts integer, p_max_age_s integer,
    p_pace boolean DEFAULT true, p_batch_id bigint DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_status text;
    v_chat text;
    v_recent timestamptz[];
    v_next timestamptz;
BEGIN
    SELECT o.*, c.next_at AS chat_next_at,
           o.kind = 'sale' AND EXISTS (SELECT 1 FROM notification_outbox x
                   WHERE x.sale_id = o.sale_id AND x.id <> o.id
                     AND x.kind = 'sale') AS others,
           o.kind = 'sale' AND EXISTS (SELECT 1 FROM notification_outbox d
                   WHERE d.reply_to = o.id AND d.status = 'pending')
               AS waiting
        INTO r
        FROM notification_outbox o
        LEFT JOIN telegram_chats c ON c.chat_id = o.chat_id
        WHERE o.id = p_id;
    IF NOT FOUND THEN
        RETURN NULL;            -- purged while it was being sent
    END IF;
    IF r.others THEN
        -- two chats of one sale recorded at once must not both miss the
        -- other's outcome
        PERFORM 1 FROM sales_notifications WHERE id = r.sale_id FOR UPDATE;
    END IF;

    v_chat := coalesce(p_chat_id, r.chat_id);
    IF v_chat <> r.chat_id AND EXISTS (SELECT 1 FROM notification_outbox o
            WHERE o.sale_id = r.sale_id AND o.chat_id = v_chat
              AND o.kind = r.kind
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

    IF NOT p_pace THEN
        -- a combined message's other sales: its first one paced the chat
        NULL;
    ELSIF p_outcome = 'sent' AND v_chat = r.chat_id AND p_interval_ms = 0
       AND p_group_limit = 0 AND r.chat_next_at <= now() THEN
        -- unpaced, and the chat was not held: it stays as it is, so
        -- concurrent senders do not queue on its row
        NULL;
    ELSE
        -- pacing of the chat the message went to (the chat row is locked
        -- before the outbox row, the order a claim takes them in)
        INSERT INTO telegram_chats (chat_id) VALUES (v_chat)
            ON CONFLICT DO NOTHING;
        SELECT recent INTO v_recent FROM telegram_chats
            WHERE chat_id = v_chat FOR UPDATE;
        v_next := now() + p_interval_ms * interval '1 millisecond';
        IF p_outcome = 'sent' AND p_group_limit > 0 AND v_chat LIKE '-%' THEN
            v_recent := v_recent || now();
            IF cardinality(v_recent) > p_group_limit THEN
                v_recent := v_recent[cardinality(v_recent) - p_group_limit
                                     + 1 :];
            END IF;
            IF cardinality(v_recent) >= p_group_limit THEN
                v_next := greatest(v_next,
                                   v_recent[1] + interval '60 seconds');
            END IF;
        ELSIF p_outcome = 'retry' THEN
            v_next := greatest(v_next,
                               now() + p_delay_ms * interval '1 millisecond');
        END IF;
        UPDATE telegram_chats SET next_at = v_next, recent = v_recent,
            updated_at = now() WHERE chat_id = v_chat;
        IF r.chat_id <> v_chat THEN
            -- release the hold the claim put on the old chat
            UPDATE telegram_chats SET next_at = now()
                WHERE chat_id = r.chat_id;
        END IF;
    END IF;

    IF r.waiting AND v_status <> 'pending' THEN
        -- the edits and replies about this message: due now that it is
        -- out (they go to the chat it went to), given up if it never will
        UPDATE notification_outbox SET chat_id = v_chat,
            status = CASE WHEN v_status = 'sent' THEN 'pending'
                          ELSE 'disabled' END,
            next_attempt_at = now(),
            last_error = CASE WHEN v_status = 'sent' THEN last_error
                              ELSE 'its message was never sent' END
            WHERE reply_to = p_id AND status = 'pending';
    END IF;

    IF r.kind = 'sale' AND NOT r.others THEN
        -- the sale's only message: its status is the sale's
        WITH o AS (
            UPDATE notification_outbox SET
                status = v_status,
                chat_id = v_chat,
                lease_until = NULL,
                last_error = p_error,
                telegram_message_id = coalesce(p_message_id,
                                               telegram_message_id),
                batch_id = CASE WHEN v_status = 'sent' THEN p_batch_id
                                ELSE batch_id END,
                sent_at = CASE WHEN v_status = 'sent' THEN now()
                               ELSE sent_at END,
                next_attempt_at = CASE WHEN v_status = 'pending'
                    THEN now() + p_delay_ms * interval '1 millisecond'
                    ELSE next_attempt_at END
            WHERE id = p_id
        )
        UPDATE sales_notifications SET
            notification_status = v_status,
            notified_at = CASE WHEN v_status = 'sent' THEN now()
                               ELSE notified_at END,
            updated_at = now()
        WHERE id = r.sale_id
          AND notification_status IN ('pending', 'sent', 'failed');
        RETURN v_status;
    END IF;

    UPDATE notification_outbox SET
        status = v_status,
        chat_id = v_chat,
        lease_until = NULL,
        last_error = p_error,
        telegram_message_id = coalesce(p_message_id, telegram_message_id),
        batch_id = CASE WHEN v_status = 'sent' THEN p_batch_id
                        ELSE batch_id END,
        sent_at = CASE WHEN v_status = 'sent' THEN now() ELSE sent_at END,
        next_attempt_at = CASE WHEN v_status = 'pending'
            THEN now() + p_delay_ms * interval '1 millisecond'
            ELSE next_attempt_at END
    WHERE id = p_id;

    IF r.kind = 'sale' THEN
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
              FROM notification_outbox
              WHERE sale_id = r.sale_id AND kind = 'sale'
                AND status <> 'disabled') a
        WHERE s.id = r.sale_id
          AND s.notification_status IN ('pending', 'sent', 'failed');
    END IF;
    RETURN v_status;
END
$$;

INSERT INTO schema_migrations (version) VALUES ('009') ON CONFLICT DO NOTHING;
