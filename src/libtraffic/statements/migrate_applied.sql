-- Whether migration $1 ("001") is recorded (after migrate_started).
SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1) AS yes
