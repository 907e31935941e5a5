-- A sale is answered 200 only after its commit, so that commit must have
-- reached the disk: a session that the server, the database or the role
-- gives synchronous_commit = off (a crash of PostgreSQL then loses the
-- last commits) commits with local instead, the flush without a wait for
-- standbys it was not waiting for.  The log rows that may wait set off for
-- their own transactions still.  Returns whether it raised it.
SELECT current_setting('synchronous_commit') = 'off' AS raised,
 CASE WHEN current_setting('synchronous_commit') = 'off'
  THEN set_config('synchronous_commit', 'local', false) END
