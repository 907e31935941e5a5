-- The alerts active now, for the status page and the metrics.
SELECT alert, coalesce(detail, '') AS detail, to_char(changed_at AT TIME
 ZONE $1, 'DD.MM.YYYY HH24:MI') AS since
FROM traffic_alerts WHERE active ORDER BY changed_at
