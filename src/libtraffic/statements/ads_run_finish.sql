-- ads sync: run $1 ends with $2 rows and its error $3 (NULL: none).
UPDATE ads_sync_runs SET finished_at = now(), rows = $2::int, error = $3
WHERE id = $1::bigint
