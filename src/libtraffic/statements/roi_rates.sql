-- traffic-ctl roi: the official rates the spend from day $1 to day $2 was
-- converted at, and where each came from (a day without its own rate
-- took an earlier one: its day is not the spend's).
SELECT DISTINCT a.currency, trim_scale(r.rate) AS rate, r.quant, r.source,
 to_char(r.day, 'YYYY-MM-DD') AS rate_day,
 bool_or(r.day < a.day) OVER (PARTITION BY a.currency, r.day) AS earlier
FROM ad_spend a
JOIN LATERAL (SELECT f.day, f.rate, f.quant, f.source FROM fx_rates f
 WHERE f.currency = a.currency AND f.day <= a.day
 ORDER BY f.day DESC LIMIT 1) r ON true
WHERE a.day BETWEEN $1::date AND $2::date AND a.currency <> 'KZT'
ORDER BY 1, 5
