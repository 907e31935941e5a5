-- ads: the team's days ($1 the time zone): LOOKBACK ($2) days ago, today,
-- the first of the month, the first of the week (Monday, as the status
-- page's sales).
SELECT to_char((now() AT TIME ZONE $1)::date - $2::int, 'YYYY-MM-DD') AS since,
 to_char((now() AT TIME ZONE $1)::date, 'YYYY-MM-DD') AS today,
 to_char(date_trunc('month', now() AT TIME ZONE $1), 'YYYY-MM-DD')
  AS month_start,
 to_char(date_trunc('week', now() AT TIME ZONE $1), 'YYYY-MM-DD')
  AS week_start
