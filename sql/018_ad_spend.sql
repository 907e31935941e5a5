-- 018: what the team's ad money returns.  Facebook's spend per day, ad
-- account and campaign (a revised day replaces its figure: the primary
-- key), each campaign's targetologist as the sync attributed it; the
-- National Bank of Kazakhstan's official rates per day and currency (tenge
-- per quant units; a day without its own rate takes the latest earlier
-- one); and each sync's run.  traffic-ctl ads sync fills them, traffic-ctl
-- roi reads them with the sales (statements/roi.sql).

CREATE TABLE IF NOT EXISTS ad_spend (
    day            date        NOT NULL,   -- in the ad account's time zone
    account_id     text        NOT NULL,   -- act_...
    campaign_id    text        NOT NULL,
    campaign_name  text,
    targetologist  text        NOT NULL,
    spend          numeric(14,2) NOT NULL CHECK (spend >= 0),
    currency       text        NOT NULL,   -- the account's
    impressions    bigint,
    clicks         bigint,
    synced_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, account_id, campaign_id)
);
CREATE INDEX IF NOT EXISTS ad_spend_targetologist_day
    ON ad_spend (targetologist, day);

CREATE TABLE IF NOT EXISTS fx_rates (
    day         date        NOT NULL,      -- the day the rate is for
    currency    text        NOT NULL,
    rate        numeric(14,4) NOT NULL CHECK (rate > 0),   -- tenge per quant
    quant       integer     NOT NULL DEFAULT 1 CHECK (quant > 0),
    source      text        NOT NULL,      -- "nbk 05.12.2026"
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, currency)
);

CREATE TABLE IF NOT EXISTS ads_sync_runs (
    id           bigserial   PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    since        date        NOT NULL,
    until        date        NOT NULL,
    rows         integer     NOT NULL DEFAULT 0,
    error        text
);

-- its alert (the last sync failed: a token expired), and its lease: the
-- deliver sidecar of one host syncs, the others wait for the interval
INSERT INTO traffic_alerts (alert) VALUES ('ads') ON CONFLICT DO NOTHING;
INSERT INTO traffic_leases (name) VALUES ('ads') ON CONFLICT DO NOTHING;

-- the new tables under row level security, like every table (017)
\ir functions/traffic_tables.sql

DO $$
BEGIN
    ALTER TABLE ad_spend ENABLE ROW LEVEL SECURITY;
    ALTER TABLE fx_rates ENABLE ROW LEVEL SECURITY;
    ALTER TABLE ads_sync_runs ENABLE ROW LEVEL SECURITY;
    PERFORM traffic_allow_service(current_user);
END
$$;

INSERT INTO schema_migrations (version) VALUES ('018') ON CONFLICT DO NOTHING;
