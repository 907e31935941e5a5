-- The log row of a lead that is not a sale (skipped, ignored, an error), or
-- of a delivery without leads.
--   $1 received_at, $2 source, $3 event, $4 lead_id, $5 request_id,
--   $6 processing_status, $7 skip_reason, $8 error_message, $9 the log body
INSERT INTO webhook_logs (received_at, source, event_type, lead_id,
 request_id, processing_status, skip_reason, error_message, raw_body)
VALUES ($1::timestamptz, $2, $3, $4, $5, $6, $7, $8, $9)
