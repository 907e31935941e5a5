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

CREATE OR REPLACE FUNCTION traffic_tables() RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT t FROM unnest(ARRAY['sales_notifications', 'all_sales_tracking',
        'webhook_logs', 'notification_outbox', 'telegram_chats',
        'amocrm_rate', 'referral_conversions', 'sale_events',
        'reconcile_runs', 'traffic_alerts', 'traffic_leases',
        'schema_migrations', 'adopt_log']) t
    WHERE to_regclass(t) IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION traffic_allow_service(p_role name) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    pol text := 'traffic_service_' || p_role;
BEGIN
    FOR t IN SELECT traffic_tables() LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO %I',
                       t, p_role);
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname =
                       current_schema() AND tablename = t
                       AND policyname = pol) THEN
            EXECUTE format('CREATE POLICY %I ON %I TO %I USING (true) WITH '
                           'CHECK (true)', pol, t, p_role);
        END IF;
    END LOOP;
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I '
                   'TO %I', current_schema(), p_role);
END
$$;

CREATE OR REPLACE FUNCTION traffic_allow_reader(p_role name) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    pol text := 'traffic_reader_' || p_role;
BEGIN
    FOR t IN SELECT unnest(ARRAY['sales_notifications', 'all_sales_tracking',
                                 'webhook_logs']) LOOP
        EXECUTE format('GRANT SELECT ON %I TO %I', t, p_role);
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname =
                       current_schema() AND tablename = t
                       AND policyname = pol) THEN
            EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO %I USING '
                           '(true)', pol, t, p_role);
        END IF;
    END LOOP;
END
$$;

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
