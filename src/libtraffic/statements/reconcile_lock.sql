-- One reconciliation at a time across every host: the lease, when it is
-- free or has run out (a host that died holds it 20 minutes at most).
-- true when this process has it now.  $1 who asks ("host:pid").
WITH taken AS (
 UPDATE traffic_leases SET holder = $1, until = now() + interval '20 minutes'
 WHERE name = 'reconcile' AND (until < now() OR holder = $1)
 RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM taken) AS taken
