-- ads sync: an official rate, $3 tenge per $4 units of $2 on day $1,
-- from $5 ("nbk DD.MM.YYYY").
INSERT INTO fx_rates (day, currency, rate, quant, source)
VALUES ($1::date, $2, $3::numeric, $4::int, $5)
ON CONFLICT (day, currency) DO UPDATE SET rate = EXCLUDED.rate,
 quant = EXCLUDED.quant, source = EXCLUDED.source, fetched_at = now()
