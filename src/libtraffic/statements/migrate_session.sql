-- A mark on this session ($1), for migrate_marked.sql to find: through a
-- transaction pooler the next statement may run in another session.
SELECT set_config('traffic.session_mark', $1, false)
