-- The outcome of one combined message (sql/009's traffic_outbox_record) for
-- each sale's row in it, in order: the first one paces the chat, every one
-- keeps the first row as its batch_id once sent.  The first row's status.
--   $1 the outbox ids (bigint[]), $2 .. $10 as outbox_record.sql
SELECT (array_agg(traffic_outbox_record(u.id, $2, $3::bigint, $4,
 $5::bigint, $6, $7::integer, $8::integer, $9::integer, $10::integer,
 u.n = 1, ($1::bigint[])[1]) ORDER BY u.n))[1]
FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, n)
