-- traffic_outbox_record: the outcome of one send of outbox row p_id; returns
-- the row's new status ('sent', 'pending' or 'failed'; NULL if the row is
-- gone).  The outbox's state machine is outgoing/outbox.c; this is its step
-- after a send.
--   p_outcome      'sent', 'retry' (transient) or 'failed' (permanent)
--   p_message_id   Telegram's message_id when sent
--   p_error        what went wrong (or a note when sent, e.g. a migration)
--   p_delay_ms     retry: when to try again (429: retry_after)
--   p_chat_id      the chat it finally went to, when Telegram moved it
--   p_interval_ms, p_group_limit   the chat's pacing
--   p_max_attempts, p_max_age_s    when a retry becomes a failure
--   p_pace         false for a combined message's sales after the first
--   p_batch_id     the combined message's first row, kept once sent
-- A sale's own message sets the sale's notification_status ('sent' when
-- every chat got it, 'failed' when one failed for good, else 'pending');
-- once sent, the edits and replies waiting for it are due, once failed for
-- good they are given up.
--
-- The only definition: the migrations that change it, and the baseline,
-- load this file (\ir).  A change is made here and loaded by a new
-- migration; t/072 checks that both ways to a schema agree.
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
                     AND x.kind = 'sale') AS others
        INTO r
        FROM notification_outbox o
        LEFT JOIN telegram_chats c ON c.chat_id = o.chat_id
        WHERE o.id = p_id;
    IF NOT FOUND THEN
        RETURN NULL;            -- purged while it was being sent
    END IF;
    IF r.kind = 'sale' THEN
        -- the sale's lock: two chats of one sale recorded at once must not
        -- both miss the other's outcome, and an edit or reply that
        -- traffic_sale_apply adds meanwhile (under the same lock) is seen
        -- by the release below
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

    IF r.kind = 'sale' AND v_status <> 'pending' THEN
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
