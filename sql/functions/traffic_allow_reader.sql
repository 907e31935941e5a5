-- traffic_allow_reader: lets role p_role read the sales (the dashboard's
-- tables), with a policy traffic_reader_ROLE on each:
--     SELECT traffic_allow_reader('authenticated');
--
-- The only definition: the migrations that change it, and the baseline,
-- load this file (\ir).  A change is made here and loaded by a new
-- migration; t/072 checks that both ways to a schema agree.
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
