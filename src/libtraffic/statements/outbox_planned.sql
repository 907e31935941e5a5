-- How many pending messages PostgreSQL's plans count on: its estimate of
-- the pending index (sql/010's chat_order_idx), made as the planner makes
-- it, from the density of the last VACUUM or ANALYZE times the index's
-- pages now (-1: no density yet, so the planner counts the pages, which
-- is about right).  After a burst has drained, that density is 0 and stays
-- 0 (an index keeps its pages), so in the next burst every statement that
-- asks for a pending row by id, sale, lead or reply is planned as a walk
-- of the whole index, which looks free: 15 to 48 ms a statement with
-- 10,000 pending, against under half a millisecond.
SELECT coalesce((SELECT CASE WHEN i.relpages > 1 AND i.reltuples >= 0
  THEN i.reltuples / (i.relpages - 1) * greatest(pg_relation_size(i.oid)
   / current_setting('block_size')::integer - 1, 0)
  ELSE -1 END
 FROM pg_class i
 WHERE i.oid = to_regclass('notification_outbox_chat_order_idx')), -1)
 AS planned
