-- The daily summary's numbers (digest.h): the dashboard's sales of the day
-- $1 and of the day before per targetologist (who), and their total (who
-- NULL, there when there are no sales too), then the day's reversals, price
-- changes and restorations, in the team's time zone $2.  Index ranges of
-- sale_date and of sale_events.created_at.
WITH b AS (
 SELECT $1::date::timestamp AT TIME ZONE $2 AS d0,
  ($1::date + 1)::timestamp AT TIME ZONE $2 AS d1,
  ($1::date - 1)::timestamp AT TIME ZONE $2 AS p0
)
SELECT 'sales' AS what, t.targetologist AS who,
 count(*) FILTER (WHERE t.sale_date >= b.d0) AS n,
 trim_scale(coalesce(sum(t.sale_amount) FILTER (WHERE t.sale_date >= b.d0),
  0))::text AS amount,
 count(*) FILTER (WHERE t.sale_date < b.d0) AS prev_n,
 trim_scale(coalesce(sum(t.sale_amount) FILTER (WHERE t.sale_date < b.d0),
  0))::text AS prev_amount
FROM all_sales_tracking t, b
WHERE t.sale_date >= b.p0 AND t.sale_date < b.d1
GROUP BY ROLLUP (t.targetologist)
UNION ALL
SELECT e.kind::text, NULL, count(*),
 trim_scale(coalesce(sum((e.detail->>'amount')::numeric), 0))::text, 0, '0'
FROM sale_events e, b
WHERE e.created_at >= b.d0 AND e.created_at < b.d1
 AND e.kind IN ('reversed', 'price_changed', 'restored')
GROUP BY e.kind
