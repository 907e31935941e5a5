-- traffic_allow_service: lets role p_role read and write every table of the
-- service (grants, and a policy traffic_service_ROLE on each):
--     SELECT traffic_allow_service('traffic_webhook');
--
-- The only definition: the migrations that change it, and the baseline,
-- load this file (\ir).  A change is made here and loaded by a new
-- migration; t/072 checks that both ways to a schema agree.
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
