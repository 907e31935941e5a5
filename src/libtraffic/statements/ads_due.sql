-- The deliver sidecar's ad spend sync: due when no host synced in the last
-- $2 seconds (ADS_SYNC_INTERVAL_S); taking it makes the others wait that
-- long.  true when this process ($1, "host:pid") is to sync now.
WITH taken AS (
 UPDATE traffic_leases SET holder = $1,
  until = now() + make_interval(secs => $2::double precision)
 WHERE name = 'ads' AND until < now()
 RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM taken) AS taken
