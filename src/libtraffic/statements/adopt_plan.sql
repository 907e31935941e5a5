-- What adopt.sql did, step by step, in this transaction (now() is its
-- start: the run_at of every line it wrote).
SELECT line FROM adopt_log WHERE run_at = now() ORDER BY id
