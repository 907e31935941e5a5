-- An alert's state now ($2), with what it says ($3): whether that changed,
-- and what it said before, so one message is posted when a problem starts
-- and one when it clears, whichever host sees it first (the row is locked;
-- the other host then finds it changed already).
--   $1 the alert (sql/008's rows)
WITH old AS (
 SELECT active, detail FROM traffic_alerts WHERE alert = $1 FOR UPDATE
), up AS (
 UPDATE traffic_alerts SET active = $2::boolean,
  detail = CASE WHEN $2::boolean THEN $3 ELSE detail END,
  changed_at = CASE WHEN active <> $2::boolean THEN now()
   ELSE changed_at END,
  checked_at = now()
 WHERE alert = $1 RETURNING active
)
SELECT (SELECT active FROM old) IS DISTINCT FROM (SELECT active FROM up)
 AS changed, coalesce((SELECT detail FROM old), '') AS was
