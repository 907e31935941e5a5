-- Migrations run one at a time across every host.
SELECT pg_advisory_lock(727384910)
