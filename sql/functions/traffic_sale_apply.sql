-- traffic_sale_apply: applies what a lead event (or the AmoCRM API) says
-- about the lead to its stored sale, and returns what that changed:
--   'none'           no sale is stored for the lead
--   'stale'          the event is older than what the sale knows: nothing
--   'unchanged'      a repeat, or nothing a sale follows
--   'price_changed'  a won sale's price: both tables, edits of sent messages
--   'reversed'       a won sale's lead left the won status or pipeline, or
--                    was deleted: out of all_sales_tracking; messages not
--                    yet sent are cancelled, sent ones get a reply
--   'restored'       a reversed sale's lead is won again: back, with its
--                    price; its message goes out if it never did, else a
--                    reply
-- and the event's detail.  p_price NULL: the price is unknown (kept).
-- p_updated_at NULL: the event has no time (applied).  p_replies: send the
-- replies (TELEGRAM_CORRECTIONS).  p_reason: why a reversal happens when
-- it is not the lead's place (the AmoCRM API did not confirm the sale, it
-- is a referral); NULL: deleted, pipeline or status.  The sale's row is
-- locked first, so two events of one lead apply one after the other.
--
-- The only definition: the migrations that change it, and the baseline,
-- load this file (\ir).  A change is made here and loaded by a new
-- migration; t/072 checks that both ways to a schema agree.
CREATE OR REPLACE FUNCTION traffic_sale_apply(
    p_lead_id bigint, p_won boolean, p_price numeric, p_status_id bigint,
    p_pipeline_id bigint, p_deleted boolean, p_updated_at timestamptz,
    p_source text, p_replies boolean, p_reason text DEFAULT NULL)
RETURNS TABLE (change text, detail jsonb) LANGUAGE plpgsql AS $$
DECLARE
    s record;
    v_kind text;
    v_detail jsonb;
    v_event bigint;
BEGIN
    SELECT n.id, n.sale_state, n.sale_amount, n.lead_updated_at,
           n.status_id, n.pipeline_id, n.enrich_status
        INTO s FROM sales_notifications n
        WHERE n.lead_id = p_lead_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'none'::text, NULL::jsonb;
        RETURN;
    END IF;
    IF p_updated_at IS NOT NULL AND s.lead_updated_at IS NOT NULL
       AND p_updated_at < s.lead_updated_at THEN
        RETURN QUERY SELECT 'stale'::text, jsonb_build_object(
            'event_updated_at', p_updated_at,
            'sale_updated_at', s.lead_updated_at);
        RETURN;
    END IF;

    IF s.sale_state = 'won' AND NOT p_won THEN
        v_kind := 'reversed';
        v_detail := jsonb_build_object(
            'reason', CASE WHEN p_reason IS NOT NULL THEN p_reason
                           WHEN p_deleted THEN 'deleted'
                           WHEN p_pipeline_id IS DISTINCT FROM s.pipeline_id
                           THEN 'pipeline' ELSE 'status' END,
            'old_status_id', s.status_id, 'old_pipeline_id', s.pipeline_id,
            'status_id', p_status_id, 'pipeline_id', p_pipeline_id,
            'amount', trim_scale(s.sale_amount));
    ELSIF s.sale_state = 'reversed' AND p_won THEN
        v_kind := 'restored';
        v_detail := jsonb_build_object(
            'status_id', p_status_id, 'pipeline_id', p_pipeline_id,
            'old_amount', trim_scale(s.sale_amount),
            'amount', trim_scale(coalesce(p_price, s.sale_amount)));
    ELSIF s.sale_state = 'won' AND p_won AND p_price IS NOT NULL
          AND p_price IS DISTINCT FROM s.sale_amount THEN
        v_kind := 'price_changed';
        v_detail := jsonb_build_object('old_amount', trim_scale(s.sale_amount),
                                       'amount', trim_scale(p_price));
    ELSE
        UPDATE sales_notifications SET lead_updated_at = p_updated_at
            WHERE id = s.id AND p_updated_at IS NOT NULL
              AND lead_updated_at IS DISTINCT FROM p_updated_at;
        RETURN QUERY SELECT 'unchanged'::text, NULL::jsonb;
        RETURN;
    END IF;

    UPDATE sales_notifications SET
        sale_state = CASE v_kind WHEN 'reversed' THEN 'reversed'
                                 ELSE 'won' END,
        sale_amount = CASE WHEN v_kind = 'reversed' THEN sale_amount
                           ELSE coalesce(p_price, sale_amount) END,
        lead_updated_at = coalesce(p_updated_at, lead_updated_at),
        updated_at = now()
        WHERE id = s.id;
    INSERT INTO sale_events (lead_id, kind, source, detail)
        VALUES (p_lead_id, v_kind, p_source, v_detail)
        RETURNING id INTO v_event;

    IF v_kind = 'reversed' THEN
        DELETE FROM all_sales_tracking WHERE lead_id = p_lead_id;
        -- not sent yet (nor in flight): never sent; edits no longer matter
        UPDATE notification_outbox SET status = 'disabled',
            last_error = 'the sale was reversed before this went out'
            WHERE sale_id = s.id AND status = 'pending'
              AND (lease_until IS NULL OR lease_until < now());
    ELSIF v_kind = 'restored' THEN
        INSERT INTO all_sales_tracking (lead_id, lead_name, contact_name,
            contact_phone, contact_email, sale_amount, currency,
            product_name, targetologist, utm_source, utm_medium,
            utm_campaign, utm_content, utm_term, utm_id, pipeline_id,
            status_id, responsible_user_id, sale_date, webhook_received_at,
            source, raw_webhook_data)
        SELECT lead_id, lead_name, contact_name, contact_phone,
            contact_email, sale_amount, currency, product_name,
            targetologist, utm_source, utm_medium, utm_campaign,
            utm_content, utm_term, utm_id, pipeline_id, status_id,
            responsible_user_id, sale_date, sale_date, source,
            raw_webhook_data
        FROM sales_notifications WHERE id = s.id
        ON CONFLICT (lead_id) DO NOTHING;
        -- a message the reversal cancelled goes out after all (once the
        -- AmoCRM API is done with the sale, if it is not yet)
        UPDATE notification_outbox SET status = 'pending',
            next_attempt_at = CASE WHEN s.enrich_status = 'pending'
                                   THEN 'infinity'::timestamptz
                                   ELSE now() END,
            last_error = NULL
            WHERE sale_id = s.id AND kind = 'sale' AND status = 'disabled'
              AND last_error = 'the sale was reversed before this went out';
    ELSE
        UPDATE all_sales_tracking SET sale_amount = p_price,
            updated_at = now() WHERE lead_id = p_lead_id;
        -- a message still pending goes out with the new amount; a sent one
        -- (or one in flight) is edited, once it is sent
        INSERT INTO notification_outbox (sale_id, lead_id, chat_id,
            thread_id, kind, reply_to, event_id, next_attempt_at)
        SELECT o.sale_id, o.lead_id, o.chat_id, o.thread_id, 'edit', o.id,
            v_event, CASE WHEN o.status = 'sent' THEN now()
                          ELSE 'infinity' END
        FROM notification_outbox o
        WHERE o.sale_id = s.id AND o.kind = 'sale'
          AND (o.status = 'sent' OR (o.status = 'pending'
                                     AND o.lease_until > now()))
        ON CONFLICT (reply_to) WHERE kind = 'edit' AND status = 'pending'
        DO NOTHING;
    END IF;

    IF v_kind IN ('reversed', 'restored') AND p_replies THEN
        INSERT INTO notification_outbox (sale_id, lead_id, chat_id,
            thread_id, kind, reply_to, event_id, next_attempt_at)
        SELECT o.sale_id, o.lead_id, o.chat_id, o.thread_id, 'reply', o.id,
            v_event, CASE WHEN o.status = 'sent' THEN now()
                          ELSE 'infinity' END
        FROM notification_outbox o
        WHERE o.sale_id = s.id AND o.kind = 'sale'
          AND (o.status = 'sent' OR (o.status = 'pending'
                                     AND o.lease_until > now()))
        ON CONFLICT (reply_to, event_id) WHERE kind = 'reply' DO NOTHING;
    END IF;
    PERFORM traffic_sale_status(s.id);
    RETURN QUERY SELECT v_kind, v_detail;
END
$$;
