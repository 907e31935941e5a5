-- Whether the schema has none of the service's tables (nor the old
-- handler's of the same names): a fresh install, which takes the baseline.
SELECT NOT EXISTS (
    SELECT 1 FROM unnest(ARRAY['schema_migrations', 'sales_notifications',
        'all_sales_tracking', 'webhook_logs', 'notification_outbox',
        'telegram_chats', 'amocrm_rate', 'referral_conversions',
        'sale_events', 'reconcile_runs', 'traffic_alerts', 'traffic_leases',
        'adopt_log', 'ad_spend', 'fx_rates', 'ads_sync_runs']) t
    WHERE to_regclass(t) IS NOT NULL) AS yes
