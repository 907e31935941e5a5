-- traffic_outbox_record_batch: the outcome of one combined message (p_ids,
-- its first row first), as traffic_outbox_record row by row would record
-- it, in five statements when it went out (t/062 compares the two).
--
-- The only definition: the migrations that change it, and the baseline,
-- load this file (\ir).  A change is made here and loaded by a new
-- migration; t/072 checks that both ways to a schema agree.
CREATE OR REPLACE FUNCTION traffic_outbox_record_batch(
    p_ids bigint[], p_outcome text, p_message_id bigint, p_error text,
    p_delay_ms bigint, p_chat_id text, p_interval_ms integer,
    p_group_limit integer, p_max_attempts integer, p_max_age_s integer)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_first text;
    v_rest bigint[] := p_ids[2:];
    v_sales bigint[];           -- every row's sale, in order
    v_msgs bigint[];            -- the other rows, and their sales
    v_msg_sales bigint[];
BEGIN
    IF p_outcome <> 'sent' OR p_chat_id IS NOT NULL
       OR cardinality(v_rest) = 0 THEN
        RETURN (SELECT (array_agg(traffic_outbox_record(u.id, p_outcome,
                    p_message_id, p_error, p_delay_ms, p_chat_id,
                    p_interval_ms, p_group_limit, p_max_attempts,
                    p_max_age_s, u.n = 1, p_ids[1]) ORDER BY u.n))[1]
                FROM unnest(p_ids) WITH ORDINALITY AS u(id, n));
    END IF;

    SELECT array_agg(o.sale_id ORDER BY o.sale_id)
               FILTER (WHERE o.kind = 'sale'),
           array_agg(o.id) FILTER (WHERE o.kind = 'sale' AND o.id <> p_ids[1]),
           array_agg(o.sale_id)
               FILTER (WHERE o.kind = 'sale' AND o.id <> p_ids[1])
        INTO v_sales, v_msgs, v_msg_sales
        FROM notification_outbox o WHERE o.id = ANY (p_ids);
    PERFORM 1 FROM sales_notifications WHERE id = ANY (v_sales)
        ORDER BY id FOR UPDATE;
    v_first := traffic_outbox_record(p_ids[1], p_outcome, p_message_id,
        p_error, p_delay_ms, p_chat_id, p_interval_ms, p_group_limit,
        p_max_attempts, p_max_age_s, true, p_ids[1]);

    -- the edits and replies waiting for these messages: due now, in the
    -- chat each went to (before the rows below are sent: the same rows
    -- traffic_outbox_record releases)
    UPDATE notification_outbox w SET chat_id = m.chat_id,
        next_attempt_at = now()
    FROM notification_outbox m
    WHERE w.reply_to = ANY (v_msgs) AND w.reply_to IS NOT NULL
      AND w.status = 'pending' AND m.id = w.reply_to;

    UPDATE notification_outbox SET
        status = 'sent',
        lease_until = NULL,
        last_error = p_error,
        telegram_message_id = coalesce(p_message_id, telegram_message_id),
        batch_id = p_ids[1],
        sent_at = now()
    WHERE id = ANY (v_rest);

    -- each sale's status from all its messages (a sale with one message:
    -- sent, now)
    UPDATE sales_notifications s SET
        notification_status = CASE WHEN a.failed > 0 THEN 'failed'
                                   WHEN a.pending = 0 THEN 'sent'
                                   ELSE 'pending' END,
        notified_at = CASE WHEN a.failed = 0 AND a.pending = 0
                           THEN a.last_sent ELSE s.notified_at END,
        updated_at = now()
    FROM (SELECT o.sale_id,
                 count(*) FILTER (WHERE o.status = 'failed') AS failed,
                 count(*) FILTER (WHERE o.status = 'pending') AS pending,
                 max(o.sent_at) AS last_sent
          FROM notification_outbox o
          WHERE o.sale_id = ANY (v_msg_sales)
            AND o.kind = 'sale' AND o.status <> 'disabled'
          GROUP BY o.sale_id) a
    WHERE s.id = a.sale_id
      AND s.notification_status IN ('pending', 'sent', 'failed');
    RETURN v_first;
END
$$;
