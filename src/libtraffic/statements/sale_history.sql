-- traffic-ctl sale: the events of lead $1, oldest first.
SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
  AS at_utc, kind, source, detail::text AS detail
FROM sale_events WHERE lead_id = $1 ORDER BY id
