-- Records migration $1 as applied.
INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING
