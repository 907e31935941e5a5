-- 011: an edit or a reply never waits for a message already sent.
--
-- traffic_outbox_record (sql/009) released the edits and replies waiting
-- for a sale's message only when it had seen one at its start, before it
-- took the sale's lock: one that traffic_sale_apply added while the message
-- was in flight (a price corrected, a deal reversed, during a burst) stayed
-- due at 'infinity' for ever.  Now every sale's row takes the sale's lock
-- first, and the release looks after it, along an index of the few rows
-- that wait (it runs for every sale's message now: without the index it
-- read the whole outbox each time).
CREATE INDEX IF NOT EXISTS notification_outbox_waiting_idx
    ON notification_outbox (reply_to)
    WHERE status = 'pending' AND reply_to IS NOT NULL;

\ir functions/traffic_outbox_record.sql

INSERT INTO schema_migrations (version) VALUES ('011') ON CONFLICT DO NOTHING;
