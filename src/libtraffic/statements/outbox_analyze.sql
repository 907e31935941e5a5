-- The outbox's statistics, new (see outbox_planned.sql); SKIP_LOCKED: a
-- VACUUM of the table under way is left to finish (and the sidecar, to
-- send), not waited for.
ANALYZE (SKIP_LOCKED) notification_outbox
