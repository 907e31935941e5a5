-- The lease given back by its holder $1.
UPDATE traffic_leases SET until = '-infinity', holder = NULL
WHERE name = 'reconcile' AND holder = $1
