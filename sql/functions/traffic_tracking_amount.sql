-- traffic_tracking_amount: the trigger that keeps the dashboard's sums
-- numbers.  all_sales_tracking holds 0 for an unknown amount and says so in
-- sale_amount_known; every statement goes on writing NULL for "unknown".
--
-- The only definition: the migrations that change it, and the baseline,
-- load this file (\ir).  A change is made here and loaded by a new
-- migration; t/072 checks that both ways to a schema agree.
CREATE OR REPLACE FUNCTION traffic_tracking_amount() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.sale_amount_known := NEW.sale_amount IS NOT NULL;
    NEW.sale_amount := coalesce(NEW.sale_amount, 0);
    RETURN NEW;
END
$$;
