-- 007: a sale's whole life.  A stored sale follows its deal: a new price,
-- a move out of the won status or pipeline, a deletion and a restoration
-- change it, in the order of the lead's own modification time, and
-- all_sales_tracking holds exactly the deals that are won now.
--
-- Every column and table here is added without rewriting an existing one:
-- new columns have constant defaults (kept in the catalog) and domains
-- without constraints; the constraints are added afterwards, which only
-- reads the rows.  Existing sales become 'won'.

CREATE DOMAIN traffic_sale_state AS text;
CREATE DOMAIN traffic_outbox_kind AS text;

ALTER TABLE sales_notifications
    ADD COLUMN IF NOT EXISTS sale_state traffic_sale_state NOT NULL
        DEFAULT 'won',
    -- the lead's own modification time (updated_at or last_modified of the
    -- body, the API's updated_at) of the newest event applied
    ADD COLUMN IF NOT EXISTS lead_updated_at timestamptz,
    -- the endpoint's source, for the dashboard copy of a restored sale
    ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'amocrm_traffic';

-- What a delivery did to a stored sale, or why a sale's price is unknown.
ALTER TABLE webhook_logs ADD COLUMN IF NOT EXISTS detail text;

-- A sale's messages: the sale's own (kind 'sale', one per chat), edits of a
-- sent one (a new price: 'edit') and replies to it (reversed, restored:
-- 'reply').  reply_to is the sale message an edit or reply is about; it is
-- due once that one is sent (traffic_outbox_record makes it so).
ALTER TABLE notification_outbox
    ADD COLUMN IF NOT EXISTS kind traffic_outbox_kind NOT NULL
        DEFAULT 'sale',
    ADD COLUMN IF NOT EXISTS reply_to bigint,
    ADD COLUMN IF NOT EXISTS event_id bigint;

ALTER DOMAIN traffic_sale_state ADD CONSTRAINT traffic_sale_state_check
    CHECK (VALUE IN ('won', 'reversed'));
ALTER DOMAIN traffic_outbox_kind ADD CONSTRAINT traffic_outbox_kind_check
    CHECK (VALUE IN ('sale', 'edit', 'reply'));

-- One sale message per chat; one pending edit per message; one reply per
-- message and event.
CREATE UNIQUE INDEX IF NOT EXISTS notification_outbox_sale_message_key
    ON notification_outbox (sale_id, chat_id, coalesce(thread_id, 0))
    WHERE kind = 'sale';
DROP INDEX IF EXISTS notification_outbox_sale_chat_key;
CREATE UNIQUE INDEX IF NOT EXISTS notification_outbox_edit_key
    ON notification_outbox (reply_to) WHERE kind = 'edit'
    AND status = 'pending';
CREATE UNIQUE INDEX IF NOT EXISTS notification_outbox_reply_key
    ON notification_outbox (reply_to, event_id) WHERE kind = 'reply';

CREATE DOMAIN traffic_sale_event_kind AS text
    CONSTRAINT traffic_sale_event_kind_check CHECK (VALUE IN
    ('won', 'price_changed', 'reversed', 'restored', 'reassigned'));
CREATE DOMAIN traffic_sale_event_source AS text
    CONSTRAINT traffic_sale_event_source_check CHECK (VALUE IN
    ('webhook', 'reconcile', 'operator'));

-- One row per change of a sale: what changed (detail: the old and new
-- amount, status, targetologist, the reason), and who said so.
CREATE TABLE IF NOT EXISTS sale_events (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL,
    kind        traffic_sale_event_kind NOT NULL,
    source      traffic_sale_event_source NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sale_events_lead_id_idx
    ON sale_events (lead_id, id);
CREATE INDEX IF NOT EXISTS sale_events_created_at_idx
    ON sale_events (created_at);

-- Applies what a lead event (or the AmoCRM API) says about the lead to its
-- stored sale, and returns what that changed:
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

-- The sale's notification_status from its own messages (kind 'sale'), after
-- a reversal or restoration: 'failed' when one failed for good, 'pending'
-- while one waits, 'sent' when the others were sent, 'disabled' when none
-- will go.  A sale without messages (no Telegram) or 'unconfirmed' stays.
CREATE OR REPLACE FUNCTION traffic_sale_status(p_sale_id bigint)
RETURNS void LANGUAGE sql AS $$
    UPDATE sales_notifications s SET
        notification_status = CASE WHEN a.failed > 0 THEN 'failed'
                                   WHEN a.pending > 0 THEN 'pending'
                                   WHEN a.sent > 0 THEN 'sent'
                                   ELSE 'disabled' END
    FROM (SELECT count(*) AS n,
                 count(*) FILTER (WHERE status = 'failed') AS failed,
                 count(*) FILTER (WHERE status = 'pending') AS pending,
                 count(*) FILTER (WHERE status = 'sent') AS sent
          FROM notification_outbox
          WHERE sale_id = p_sale_id AND kind = 'sale') a
    WHERE s.id = p_sale_id AND a.n > 0
      AND s.notification_status <> 'unconfirmed'
$$;

-- traffic_outbox_record (sql/005) for every kind of message: a sale's own
-- message sets the sale's notification_status as before (edits and replies
-- do not); once sent, the edits and replies waiting for it are due, and
-- once it failed for good, they are given up.
CREATE OR REPLACE FUNCTION traffic_outbox_record(
    p_id bigint, p_outcome text, p_message_id bigint, p_error text,
    p_delay_ms bigint, p_chat_id text, p_interval_ms integer,
    p_group_limit integer, p_max_attempts integer, p_max_age_s integer)
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

    IF p_outcome = 'sent' AND v_chat = r.chat_id AND p_interval_ms = 0
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

-- A request slot of the pool's AmoCRM rate (as traffic_amocrm_slot, sql/003)
-- taken only when it comes within p_max_wait seconds: the seconds to wait
-- for it, or no row when it is further away (then nothing is taken, so a
-- worker that leaves its sale to the sidecar does not waste a slot).
CREATE OR REPLACE FUNCTION traffic_amocrm_take(p_per_second integer,
                                               p_max_wait double precision)
RETURNS double precision LANGUAGE sql AS $$
    UPDATE amocrm_rate
    SET next_at = greatest(next_at, clock_timestamp())
                  + interval '1.05 second' / p_per_second
    WHERE id = 1 AND next_at <= clock_timestamp()
                                + p_max_wait * interval '1 second'
    RETURNING greatest(0, extract(epoch FROM next_at
        - interval '1.05 second' / p_per_second - clock_timestamp()))
        ::double precision
$$;

-- Every reconciliation with the AmoCRM API (traffic-ctl reconcile, the
-- sidecar): what it found, and what it said about AmoCRM's webhook.
CREATE TABLE IF NOT EXISTS reconcile_runs (
    id           bigserial PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    since        timestamptz NOT NULL,
    dry_run      boolean NOT NULL DEFAULT false,
    checked      integer NOT NULL DEFAULT 0,
    recovered    integer NOT NULL DEFAULT 0,
    corrected    integer NOT NULL DEFAULT 0,
    reversed     integer NOT NULL DEFAULT 0,
    unchanged    integer NOT NULL DEFAULT 0,
    hook         text,       -- 'ok', 'missing', 'disabled', or NULL: unknown
    error        text
);
CREATE INDEX IF NOT EXISTS reconcile_runs_started_at_idx
    ON reconcile_runs (started_at);

INSERT INTO schema_migrations (version) VALUES ('007') ON CONFLICT DO NOTHING;
