-- ads sync: a run begins, for the days $1 .. $2.
INSERT INTO ads_sync_runs (since, until) VALUES ($1::date, $2::date)
RETURNING id
