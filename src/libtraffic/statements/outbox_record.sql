-- The outcome of one send (traffic_outbox_record, sql/functions/): the
-- row's new status, NULL when the row is gone.
--   $1 outbox id, $2 'sent', 'retry' or 'failed', $3 Telegram's
--   message_id, $4 the error (or a note), $5 the retry delay (ms), $6 the
--   chat it went to when Telegram moved it, $7 TELEGRAM_CHAT_INTERVAL_MS,
--   $8 TELEGRAM_GROUP_PER_MINUTE, $9 TELEGRAM_MAX_ATTEMPTS,
--   $10 TELEGRAM_MAX_AGE_S
SELECT traffic_outbox_record($1::bigint, $2, $3::bigint, $4,
 $5::bigint, $6, $7::integer, $8::integer, $9::integer, $10::integer) AS status
