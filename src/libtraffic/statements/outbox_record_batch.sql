-- The outcome of one combined message (traffic_outbox_record_batch, in
-- sql/functions/) for each sale's row in it: the first one
-- paces the chat, every one keeps the first row as its batch_id once sent.
-- The first row's status.
--   $1 the outbox ids (bigint[]), $2 .. $10 as outbox_record.sql
SELECT traffic_outbox_record_batch($1::bigint[], $2, $3::bigint, $4,
 $5::bigint, $6, $7::integer, $8::integer, $9::integer, $10::integer) AS status
