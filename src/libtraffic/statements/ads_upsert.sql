-- ads sync: one campaign's day, as Facebook says it now: a revised day
-- replaces the figure (never adds to it).
--   $1 day, $2 account, $3 campaign id, $4 name, $5 targetologist,
--   $6 spend, $7 currency, $8 impressions, $9 clicks
INSERT INTO ad_spend (day, account_id, campaign_id, campaign_name,
 targetologist, spend, currency, impressions, clicks)
VALUES ($1::date, $2, $3, $4, $5, $6::numeric, $7, $8::bigint, $9::bigint)
ON CONFLICT (day, account_id, campaign_id) DO UPDATE SET
 campaign_name = EXCLUDED.campaign_name,
 targetologist = EXCLUDED.targetologist, spend = EXCLUDED.spend,
 currency = EXCLUDED.currency, impressions = EXCLUDED.impressions,
 clicks = EXCLUDED.clicks, synced_at = now()
