-- 008: what the status page, the metrics and the alerts read, from an
-- index: the messages that failed for good, and the alerts' state.

CREATE INDEX IF NOT EXISTS notification_outbox_failed_idx
    ON notification_outbox (created_at) WHERE status = 'failed';

-- One row per kind of problem the deliver sidecar watches for; "active"
-- changes once when it starts and once when it clears, so one message is
-- posted each time, whichever host saw it first.  (The spool's alert is a
-- host's own, kept in its spool: it is about this database being away.)
CREATE TABLE IF NOT EXISTS traffic_alerts (
    alert       text PRIMARY KEY,
    active      boolean NOT NULL DEFAULT false,
    detail      text,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    checked_at  timestamptz NOT NULL DEFAULT now()
);

-- every alert has its row from the start, so the one statement that flips
-- it (alert_set.sql) always finds a row to lock
INSERT INTO traffic_alerts (alert) VALUES ('amocrm_hook'), ('amocrm_token'),
    ('telegram_token'), ('telegram_chat'), ('failed_messages'), ('silence')
ON CONFLICT DO NOTHING;

INSERT INTO schema_migrations (version) VALUES ('008') ON CONFLICT DO NOTHING;
