-- traffic_amocrm_slot: a request slot of the pool's AmoCRM rate.  AmoCRM
-- allows 7 requests a second per integration and blocks the IP beyond that:
-- every process takes its slot here.  Returns how many seconds to wait
-- before sending; slots are 1/p_per_second apart (plus a 5% margin for the
-- time between this call and the request).
--
-- The only definition: the migrations that change it, and the baseline,
-- load this file (\ir).  A change is made here and loaded by a new
-- migration; t/072 checks that both ways to a schema agree.
CREATE OR REPLACE FUNCTION traffic_amocrm_slot(p_per_second integer)
RETURNS double precision LANGUAGE sql AS $$
    UPDATE amocrm_rate
    SET next_at = greatest(next_at, clock_timestamp())
                  + interval '1.05 second' / p_per_second
    WHERE id = 1
    RETURNING extract(epoch FROM next_at - interval '1.05 second' / p_per_second
                      - clock_timestamp())::double precision
$$;
