-- What a reconciliation found.  $1 its row, $2-$8 checked, recovered,
-- corrected, reversed, unchanged, unverified, held, $9 the hook's state,
-- $10 the error
UPDATE reconcile_runs SET finished_at = now(), checked = $2::integer,
 recovered = $3::integer, corrected = $4::integer, reversed = $5::integer,
 unchanged = $6::integer, unverified = $7::integer, held = $8::integer,
 hook = $9, error = $10
WHERE id = $1::bigint
