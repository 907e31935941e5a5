-- A reconciliation begins: its row.  $1 since (unix seconds), $2 dry run.
INSERT INTO reconcile_runs (since, dry_run)
VALUES (to_timestamp($1::bigint), $2::boolean) RETURNING id
