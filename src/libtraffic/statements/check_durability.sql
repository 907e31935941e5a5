-- traffic-ctl check: what a sale's 200 relies on, as this service's
-- sessions have it: fsync, and the session's synchronous_commit.
SELECT current_setting('fsync') AS fsync,
 current_setting('synchronous_commit') AS synchronous_commit
