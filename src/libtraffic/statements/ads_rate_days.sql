-- ads sync: the days from $1 to $2 with spend in a currency other than
-- tenge and no rate of their own yet.
SELECT DISTINCT to_char(a.day, 'YYYY-MM-DD') AS day, a.currency
FROM ad_spend a
WHERE a.day BETWEEN $1::date AND $2::date AND a.currency <> 'KZT'
 AND NOT EXISTS (SELECT 1 FROM fx_rates f WHERE f.currency = a.currency
                 AND f.day = a.day)
ORDER BY 1, 2
