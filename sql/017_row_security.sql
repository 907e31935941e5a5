-- 017: row level security on every table of the service (Supabase flags a
-- public table without it: its REST API would hand the rows to anyone
-- with the anon key while the default grants are on).
--
-- The role that runs the migrations owns the tables and is not held by
-- RLS (nor is a role with BYPASSRLS, as Supabase's service_role); it also
-- gets a policy of its own.  Another role for the service, or the
-- dashboard's readers, are let in by the owner with one call each:
--     SELECT traffic_allow_service('traffic_webhook');  -- reads and writes
--     SELECT traffic_allow_reader('authenticated');     -- reads the sales
-- which grant what the role needs and make its policies (named
-- traffic_service_ROLE / traffic_reader_ROLE), on every table: nobody else
-- sees a row.  traffic-ctl check writes and reads a sale as the service's
-- role and says when RLS refuses it.

\ir functions/traffic_tables.sql

\ir functions/traffic_allow_service.sql

\ir functions/traffic_allow_reader.sql

DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT traffic_tables() LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    END LOOP;
    PERFORM traffic_allow_service(current_user);
END
$$;

INSERT INTO schema_migrations (version) VALUES ('017') ON CONFLICT DO NOTHING;
