-- traffic_sale_status: the sale's notification_status from its own messages
-- (kind 'sale'), after a reversal or restoration: 'failed' when one failed
-- for good, 'pending' while one waits, 'sent' when the others were sent,
-- 'disabled' when none will go.  A sale without messages (no Telegram) or
-- 'unconfirmed' stays.
--
-- The only definition: the migrations that change it, and the baseline,
-- load this file (\ir).  A change is made here and loaded by a new
-- migration; t/072 checks that both ways to a schema agree.
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
