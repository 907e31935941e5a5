-- GET /api/admin/webhook-logs/stats: counts by status and routing, and the
-- success rate in percent, as JSON.
--   $1 source (NULL: any)
WITH l AS (SELECT processing_status, routing_decision FROM webhook_logs
 WHERE $1::text IS NULL OR source = $1)
SELECT json_build_object('success', true, 'total', (SELECT count(*)
  FROM l), 'by_status', (SELECT coalesce(json_object_agg(s, n), '{}')
  FROM (SELECT processing_status s, count(*) n FROM l GROUP BY 1) x),
 'by_routing', (SELECT coalesce(json_object_agg(r, n), '{}') FROM
  (SELECT coalesce(routing_decision, 'none') r, count(*) n FROM l
  GROUP BY 1) y),
 'success_rate', (SELECT round(100.0 * count(*) FILTER (WHERE
  processing_status IN ('success', 'duplicate')) / nullif(count(*), 0),
  1) FROM l))::text AS answer
