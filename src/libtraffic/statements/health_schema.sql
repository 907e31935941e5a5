-- The health check: the database answers, and which schema it has (the
-- newest migration applied).
SELECT coalesce(max(version), '') AS version FROM schema_migrations
