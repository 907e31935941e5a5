-- traffic_tables: the service's tables that exist, for row level security
-- (migration 017).  A migration that adds a table adds it here.
--
-- The only definition: the migrations that change it, and the baseline,
-- load this file (\ir).  A change is made here and loaded by a new
-- migration; t/072 checks that both ways to a schema agree.
CREATE OR REPLACE FUNCTION traffic_tables() RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT t FROM unnest(ARRAY['sales_notifications', 'all_sales_tracking',
        'webhook_logs', 'notification_outbox', 'telegram_chats',
        'amocrm_rate', 'referral_conversions', 'sale_events',
        'reconcile_runs', 'traffic_alerts', 'traffic_leases',
        'schema_migrations', 'adopt_log', 'ad_spend', 'fx_rates',
        'ads_sync_runs']) t
    WHERE to_regclass(t) IS NOT NULL
$$;
