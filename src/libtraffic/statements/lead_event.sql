-- What a lead event says about the lead's stored sale (traffic_sale_apply,
-- sql/functions/: a new price, a reversal, a restoration, a stale event, nothing),
-- and the event's log row: 'success' with the change in detail when it
-- changed the sale, 'skipped' with reason 'stale' when it is older than
-- what the sale knows, else $14 with the reason $15 (a repeat of a stored
-- sale is 'duplicate', a lead in another status 'skipped', a deletion of a
-- lead without a sale 'ignored').  With $19 false only a change is logged
-- (reconciliation, which looks at every sale of its window).
--   $1 lead_id, $2 won (the lead is in the sale's pipeline and status),
--   $3 price (NULL: unknown), $4 status_id, $5 pipeline_id, $6 deleted,
--   $7 the lead's modification time (unix seconds, NULL: unknown; a
--   deletion without one is dated a second after the newest event the
--   sale knows, or by its delivery, $9, when it knows none: AmoCRM's retry
--   of an event from before the deletion is then stale and cannot bring
--   the sale back, while a real restoration, later on AmoCRM's own clock,
--   still applies, whatever our clock says),
--   $8 TELEGRAM_CORRECTIONS, $9 received_at, $10 source, $11 event,
--   $12 request_id, $13 routing, $14 the status when nothing changed,
--   $15 its reason, $16 the log body, $17 who says so ('webhook',
--   'reconcile'), $18 the targetologist, $19 log what did not change
-- A lead with no stored sale (most events of a busy account) never enters
-- traffic_sale_apply: its 'none' costs one index probe instead of a
-- plpgsql call (PostgreSQL's CPU per such request 8% lower, bench/run's
-- leads[update]).  The function would find no row either: it reads the
-- sale without waiting for one that is not committed yet.
-- lead_event_lazy, for a delivery that is this one event: when no sale
-- changed (the lead has none, or nothing new) the transaction commits
-- without waiting for the WAL flush, as sale_log_lazy; a change waits.  A
-- webhook's lone event comes here only when lead_log.sql found a sale.
--@variant lead_event
--@variant lead_event_lazy lazy
WITH stored AS (
 SELECT EXISTS (SELECT 1 FROM sales_notifications WHERE lead_id = $1) AS yes,
  (SELECT lead_updated_at FROM sales_notifications WHERE lead_id = $1) AS at
), a AS (
 SELECT f.* FROM stored, LATERAL traffic_sale_apply($1, $2::boolean,
  $3::numeric, $4::bigint, $5::bigint, $6::boolean,
  coalesce(to_timestamp($7::bigint), CASE WHEN $6::boolean
   THEN coalesce(stored.at + interval '1 second', $9::timestamptz) END),
  $17::text, $8::boolean) f
 WHERE stored.yes
 UNION ALL
 SELECT 'none'::text, NULL::jsonb FROM stored WHERE NOT stored.yes
), v AS (
 SELECT a.change, a.detail,
  CASE a.change WHEN 'stale' THEN 'skipped' WHEN 'none' THEN $14
   WHEN 'unchanged' THEN $14 ELSE 'success' END AS status,
  CASE a.change WHEN 'stale' THEN 'stale' WHEN 'none' THEN $15
   WHEN 'unchanged' THEN $15 END AS reason
 FROM a
), log AS (
 INSERT INTO webhook_logs (received_at, source, event_type, lead_id,
  request_id, routing_decision, processing_status, targetologist,
  skip_reason, raw_body, detail, pipeline_id)
 SELECT $9::timestamptz, $10, $11, $1, $12, $13, v.status, $18, v.reason,
  $16, CASE WHEN v.change NOT IN ('none', 'unchanged', 'stale')
   THEN v.change || ' ' || v.detail::text END, $5::bigint
 FROM v WHERE $19::boolean OR v.change NOT IN ('none', 'unchanged', 'stale')
 RETURNING 1
)
SELECT v.change, v.status, (SELECT count(*) FROM log) AS logged
--@if lazy
 , set_config('synchronous_commit', CASE WHEN v.change IN ('none',
  'unchanged', 'stale') THEN 'off' ELSE current_setting('synchronous_commit')
  END, true) AS commit_mode
--@endif
FROM v
