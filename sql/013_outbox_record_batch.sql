-- 013: the outcome of a combined message in five statements, not six a
-- sale.
--
-- A message that carries several sales (claim.sql combines up to ten once
-- a chat has a backlog) was recorded by calling traffic_outbox_record
-- (sql/011) once per sale: every row took its sale's lock, read itself,
-- released its waiting edits and replies and set its sale's status, one
-- statement at a time.  In a burst that was a third to a half of
-- PostgreSQL's time on the sale path.  A combined message that went out
-- (the usual case) now has its other rows recorded all at once, with the
-- same effects (t/062 compares the two on the same rows); any other
-- outcome, or a chat that moved, still goes row by row.  The first row is
-- always traffic_outbox_record's: it paces the chat.
--
-- The sales' locks are taken first, all of them in the order of their ids,
-- so two combined messages of the same sales (one in each of two chats)
-- never wait for each other in a circle.  The rows are read once, by their
-- ids: with kind = 'sale' in a WHERE, PostgreSQL read the whole of the
-- sale messages' index for them during a burst (its estimate of that
-- index's size was the outbox's when the burst began).
\ir functions/traffic_outbox_record_batch.sql

INSERT INTO schema_migrations (version) VALUES ('013') ON CONFLICT DO NOTHING;
