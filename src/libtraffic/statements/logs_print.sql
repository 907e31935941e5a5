-- traffic-ctl logs: webhook_logs as the seed's debugging query shows them.
--   $1 limit, $2 processing_status, $3 lead_id, $4 source (each NULL: any)
SELECT to_char(received_at AT TIME ZONE 'UTC',
  'YYYY-MM-DD HH24:MI:SS') AS received_utc,
 source, event_type, lead_id, processing_status AS status,
 coalesce(targetologist, '') AS targetologist,
 coalesce(error_message, skip_reason, detail, '') AS reason,
 coalesce(request_id, '') AS request_id
FROM webhook_logs
WHERE ($2::text IS NULL OR processing_status = $2)
 AND ($3::bigint IS NULL OR lead_id = $3)
 AND ($4::text IS NULL OR source = $4)
ORDER BY received_at DESC, id DESC LIMIT $1::bigint
