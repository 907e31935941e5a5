-- Another attempt at a sale's enrichment later.
--   $1 sale id, $2 why (NULL: none), $3 the delay (ms)
UPDATE sales_notifications SET enrich_error = $2,
 enrich_next_at = now() + $3 * interval '1 millisecond',
 enrich_lease_until = NULL WHERE id = $1
