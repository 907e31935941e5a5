-- GET /admin/: the dashboard's sales per targetologist today, this week and
-- this month, in the team's time zone $1 (an index range of sale_date).
WITH b AS (
 SELECT date_trunc('day', now() AT TIME ZONE $1) AT TIME ZONE $1 AS day,
  date_trunc('week', now() AT TIME ZONE $1) AT TIME ZONE $1 AS week,
  date_trunc('month', now() AT TIME ZONE $1) AT TIME ZONE $1 AS month
)
SELECT t.targetologist,
 count(*) FILTER (WHERE t.sale_date >= b.day) AS day_n,
 coalesce(trim_scale(sum(t.sale_amount) FILTER (WHERE t.sale_date >= b.day)),
  0)::text AS day_sum,
 count(*) FILTER (WHERE t.sale_date >= b.week) AS week_n,
 coalesce(trim_scale(sum(t.sale_amount) FILTER (WHERE t.sale_date >=
  b.week)), 0)::text AS week_sum,
 count(*) FILTER (WHERE t.sale_date >= b.month) AS month_n,
 coalesce(trim_scale(sum(t.sale_amount) FILTER (WHERE t.sale_date >=
  b.month)), 0)::text AS month_sum
FROM all_sales_tracking t, b
WHERE t.sale_date >= least(b.week, b.month)
GROUP BY t.targetologist
