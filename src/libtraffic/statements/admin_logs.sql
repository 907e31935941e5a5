-- GET /api/admin/webhook-logs: the logs, newest first, as JSON.
--   $1 limit, $2 processing_status, $3 routing_decision, $4 lead_id,
--   $5 source (each NULL: any)
SELECT json_build_object('success', true, 'count', count(*),
 'logs', coalesce(json_agg(l ORDER BY l.received_at DESC, l.id DESC),
 '[]'))::text AS answer FROM (
 SELECT id, received_at, source, event_type, lead_id, request_id,
  routing_decision, processing_status, targetologist, skip_reason,
  error_message
 FROM webhook_logs
 WHERE ($2::text IS NULL OR processing_status = $2)
  AND ($3::text IS NULL OR routing_decision = $3)
  AND ($4::bigint IS NULL OR lead_id = $4)
  AND ($5::text IS NULL OR source = $5)
 ORDER BY received_at DESC, id DESC LIMIT $1::bigint) l
