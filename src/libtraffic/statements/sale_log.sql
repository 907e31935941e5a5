-- The log row of a lead that is not a sale (skipped, ignored, an error), or
-- of a delivery without leads.
--   $1 received_at, $2 source, $3 event, $4 lead_id, $5 request_id,
--   $6 processing_status, $7 skip_reason, $8 error_message, $9 the log body
-- sale_log_lazy, for a delivery that is this one row and no sale, commits
-- without waiting for the WAL flush (synchronous_commit off for its own
-- transaction only): a crash of PostgreSQL may lose the last fraction of a
-- second of such rows, never a sale, which always waits for its flush.
--@variant sale_log
--@variant sale_log_lazy lazy
--@if lazy
WITH lazy AS (SELECT set_config('synchronous_commit', 'off', true))
--@endif
INSERT INTO webhook_logs (received_at, source, event_type, lead_id,
 request_id, processing_status, skip_reason, error_message, raw_body)
SELECT $1::timestamptz, $2, $3, $4::bigint, $5, $6, $7, $8, $9
--@if lazy
FROM lazy
--@endif
