-- Whether this is still the session migrate_session.sql marked with $1.
SELECT coalesce(current_setting('traffic.session_mark', true) = $1, false)
 AS yes
