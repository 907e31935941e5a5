-- 006: the status columns keep their vocabulary in domains rather than in
-- table CHECK constraints.
--
-- PostgreSQL re-parses a table's CHECK constraints from their stored text
-- for every INSERT and UPDATE statement it executes (ExecRelCheck), and the
-- sale path runs seven such checks per sale: callgrind counted 15% of
-- PostgreSQL's instructions per sale there.  A domain's constraint is parsed
-- once per session (the type cache).  Same values, same errors on a wrong
-- one; the columns are still text to every reader.
--
-- The domains start without their constraint so that changing the column
-- types rewrites nothing; adding the constraint then only checks the rows.

CREATE DOMAIN traffic_notification_status AS text;
CREATE DOMAIN traffic_enrich_status AS text;
CREATE DOMAIN traffic_processing_status AS text;
CREATE DOMAIN traffic_outbox_status AS text;

ALTER TABLE sales_notifications
    DROP CONSTRAINT IF EXISTS sales_notifications_status_check,
    DROP CONSTRAINT IF EXISTS sales_notifications_enrich_status_check,
    ALTER COLUMN notification_status TYPE traffic_notification_status,
    ALTER COLUMN enrich_status TYPE traffic_enrich_status;
ALTER TABLE webhook_logs
    DROP CONSTRAINT IF EXISTS webhook_logs_status_check,
    ALTER COLUMN processing_status TYPE traffic_processing_status;
ALTER TABLE notification_outbox
    DROP CONSTRAINT IF EXISTS notification_outbox_status_check,
    ALTER COLUMN status TYPE traffic_outbox_status;

ALTER DOMAIN traffic_notification_status
    ADD CONSTRAINT traffic_notification_status_check CHECK (VALUE IN
    ('pending', 'sent', 'failed', 'disabled', 'unconfirmed'));
ALTER DOMAIN traffic_enrich_status
    ADD CONSTRAINT traffic_enrich_status_check CHECK (VALUE IN
    ('pending', 'done', 'failed', 'unconfirmed', 'skipped'));
ALTER DOMAIN traffic_processing_status
    ADD CONSTRAINT traffic_processing_status_check CHECK (VALUE IN
    ('success', 'duplicate', 'skipped', 'ignored', 'error'));
ALTER DOMAIN traffic_outbox_status
    ADD CONSTRAINT traffic_outbox_status_check CHECK (VALUE IN
    ('pending', 'sent', 'failed', 'disabled'));

INSERT INTO schema_migrations (version) VALUES ('006') ON CONFLICT DO NOTHING;
