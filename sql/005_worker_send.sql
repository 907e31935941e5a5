-- 005: a worker sends its own new sale's message without a claim of its
-- own: the sale's statement holds the free chats (src/libtraffic/statements/
-- sale.sql); and traffic_outbox_record in fewer statements.
--
-- An unpaced chat (TELEGRAM_CHAT_INTERVAL_MS=0 and
-- TELEGRAM_GROUP_PER_MINUTE=0) that nobody held is left alone when a message
-- to it was sent: the pool's senders then never wait for one another on the
-- chat's row.
--
-- Each statement a plpgsql function runs starts an executor of its own, and
-- the record was a fifth of PostgreSQL's instructions per sale.  One read
-- now takes the outbox row, its chat's state and whether the sale has other
-- messages; a sale with one message needs no lock of its own (nothing else
-- records for it) and gets its status from the message in the statement
-- that updates the message.  A sale with several messages still locks its
-- row first and counts them all, as in 002.

\ir functions/traffic_outbox_record.sql

INSERT INTO schema_migrations (version) VALUES ('005') ON CONFLICT DO NOTHING;
