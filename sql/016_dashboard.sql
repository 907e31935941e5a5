-- 016: the Traffic Dashboard's reads keep working on the rows we write.
--
-- Its sums are JavaScript's parseFloat(sale_amount) over
-- all_sales_tracking: a NULL (our "price unknown") makes the whole sum
-- NaN.  The dashboard's table now holds 0 for an unknown amount and says
-- so in sale_amount_known (false), set by a trigger from what is written,
-- so every statement goes on writing NULL for "unknown" and the
-- notification history (sales_notifications) keeps its NULL.  Rows from
-- before this migration: an amount of 0 is taken as unknown (the old
-- handler wrote 0 for a missing price).

ALTER TABLE all_sales_tracking
    ADD COLUMN IF NOT EXISTS sale_amount_known boolean;
UPDATE all_sales_tracking
SET sale_amount_known = coalesce(sale_amount, 0) <> 0,
    sale_amount = coalesce(sale_amount, 0)
WHERE sale_amount_known IS NULL;
ALTER TABLE all_sales_tracking
    ALTER COLUMN sale_amount_known SET DEFAULT true,
    ALTER COLUMN sale_amount_known SET NOT NULL;

\ir functions/traffic_tracking_amount.sql
DROP TRIGGER IF EXISTS traffic_tracking_amount ON all_sales_tracking;
CREATE TRIGGER traffic_tracking_amount
    BEFORE INSERT OR UPDATE OF sale_amount ON all_sales_tracking
    FOR EACH ROW EXECUTE FUNCTION traffic_tracking_amount();

-- the log viewer shows when a row was processed
ALTER TABLE webhook_logs ALTER COLUMN processed_at SET DEFAULT now();

INSERT INTO schema_migrations (version) VALUES ('016') ON CONFLICT DO NOTHING;
