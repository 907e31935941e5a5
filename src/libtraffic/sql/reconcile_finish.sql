-- What a reconciliation found.  $1 its row, $2-$6 checked, recovered,
-- corrected, reversed, unchanged, $7 the hook's state, $8 the error
UPDATE reconcile_runs SET finished_at = now(), checked = $2::integer,
 recovered = $3::integer, corrected = $4::integer, reversed = $5::integer,
 unchanged = $6::integer, hook = $7, error = $8
WHERE id = $1::bigint
