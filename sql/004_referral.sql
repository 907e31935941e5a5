-- 004: the unified endpoint's referral conversions (POST /webhook/amocrm):
-- one row per lead whose sale came through a referral link (utm_source
-- "ref_<code>"), or that carried no UTM at all (routing "both").
CREATE TABLE IF NOT EXISTS referral_conversions (
    id              bigserial PRIMARY KEY,
    lead_id         bigint NOT NULL,
    referral_code   text,                   -- utm_source; NULL for "both"
    amount          numeric(15, 2),         -- NULL: price unknown
    currency        text NOT NULL DEFAULT 'KZT',
    lead_name       text,
    client_name     text,                   -- from the AmoCRM API, if used
    utm_campaign    text,
    routing_decision text NOT NULL,         -- 'referral' or 'both'
    converted_at    timestamptz NOT NULL,   -- when the webhook arrived
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS referral_conversions_lead_id_key
    ON referral_conversions (lead_id);
CREATE INDEX IF NOT EXISTS referral_conversions_code_idx
    ON referral_conversions (referral_code, converted_at);

INSERT INTO schema_migrations (version) VALUES ('004') ON CONFLICT DO NOTHING;
