-- A sale the AmoCRM API says is none (not confirmed, or a referral after
-- all) leaves the dashboard: reversed with the reason, by the API's word.
--   $1 lead_id, $2 the reason ('unconfirmed', 'referral')
SELECT change FROM traffic_sale_apply($1, false, NULL, NULL, NULL, false,
 NULL, 'reconcile', false, $2::text)
