-- 012: two indexes of the outbox that no query reads any more, dropped.
--
-- A claim reads a chat's pending messages along chat_order_idx (010), the
-- release of waiting edits and replies along waiting_idx (011).  These two
-- only cost: an entry in each for every new message and every status
-- change, and one more wrong turn for the planner (during a burst the
-- release of a sale's waiting edits walked every pending row along
-- due_idx, with a plan made while the outbox was small).
DROP INDEX IF EXISTS notification_outbox_due_idx;
DROP INDEX IF EXISTS notification_outbox_chat_due_idx;

INSERT INTO schema_migrations (version) VALUES ('012') ON CONFLICT DO NOTHING;
