-- 012: two indexes of the outbox that no query reads any more, dropped;
-- its statistics refreshed when a burst has grown it.
--
-- A claim reads a chat's pending messages along chat_order_idx (010), the
-- release of waiting edits and replies along waiting_idx (011).  These two
-- only cost: an entry for every new message and every status change, and
-- wrong turns of the planner.  With them, the release of a sale's waiting
-- edits walked every pending row of the outbox along due_idx (a plan made
-- while the outbox was small, kept by the session as it grew: 5,000 rows
-- read for none found, during a burst).
DROP INDEX IF EXISTS notification_outbox_due_idx;
DROP INDEX IF EXISTS notification_outbox_chat_due_idx;

-- The plans a session keeps were made for the outbox as it was then: a
-- plan made for a few pending rows reads all of them once a burst has left
-- thousands.  The deliver sidecar calls this when the pending rows have
-- grown fourfold since it last did: fresh statistics make every session
-- plan again.  (Without the table's ownership ANALYZE skips it, warning.)
CREATE OR REPLACE FUNCTION traffic_outbox_analyze() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    ANALYZE notification_outbox;
END
$$;

INSERT INTO schema_migrations (version) VALUES ('012') ON CONFLICT DO NOTHING;
