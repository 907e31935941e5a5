-- traffic-ctl roi: per targetologist from day $1 to day $2 (the days in
-- time zone $3), and a last row for the total (who NULL).  Sales and
-- revenue exactly as the dashboard counts them (all_sales_tracking: the
-- won sales with their current amounts, reversals out); spend in tenge at
-- each day's official rate, else the latest earlier one.  ROI % =
-- (revenue - spend) / spend * 100, ROAS = revenue / spend, CPA = spend /
-- sales: NULL where the divisor is 0.  no_rate: spend in a currency with
-- no rate on or before its day (left out of spend, and said).
WITH sales AS (
 SELECT coalesce(targetologist, 'Unknown') AS who, count(*) AS n,
  coalesce(sum(sale_amount), 0) AS revenue
 FROM all_sales_tracking
 WHERE (sale_date AT TIME ZONE $3)::date BETWEEN $1::date AND $2::date
 GROUP BY 1
), spend AS (
 SELECT a.targetologist AS who,
  sum(CASE WHEN a.currency = 'KZT' THEN a.spend
           ELSE a.spend * r.rate / r.quant END) AS kzt,
  bool_or(a.currency <> 'KZT' AND r.rate IS NULL) AS no_rate
 FROM ad_spend a
 LEFT JOIN LATERAL (SELECT f.rate, f.quant FROM fx_rates f
  WHERE f.currency = a.currency AND f.day <= a.day
  ORDER BY f.day DESC LIMIT 1) r ON a.currency <> 'KZT'
 WHERE a.day BETWEEN $1::date AND $2::date
 GROUP BY 1
), j AS (
 SELECT coalesce(s.who, p.who) AS who, coalesce(s.n, 0) AS n,
  coalesce(s.revenue, 0) AS revenue, p.kzt, coalesce(p.no_rate, false)
   AS no_rate
 FROM sales s FULL JOIN spend p ON p.who = s.who
), t AS (
 SELECT who, n, revenue, kzt, no_rate FROM j
 UNION ALL
 SELECT NULL, coalesce(sum(n), 0), coalesce(sum(revenue), 0), sum(kzt),
  coalesce(bool_or(no_rate), false) FROM j
)
SELECT who, n AS sales, trim_scale(round(revenue, 2)) AS revenue_kzt,
 trim_scale(round(kzt, 2)) AS spend_kzt,
 trim_scale(round((revenue - kzt) / nullif(kzt, 0) * 100, 2)) AS roi_pct,
 trim_scale(round(revenue / nullif(kzt, 0), 2)) AS roas,
 trim_scale(round(kzt / nullif(n, 0), 2)) AS cpa_kzt, no_rate
FROM t
