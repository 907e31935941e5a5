-- One reconciliation at a time across every host: true when this session
-- has the lock now.
SELECT pg_try_advisory_lock(727384911)
