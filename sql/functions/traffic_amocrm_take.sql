-- traffic_amocrm_take: a slot as traffic_amocrm_slot, taken only when it
-- comes within p_max_wait seconds: the seconds to wait for it, or no row
-- when it is further away (then nothing is taken, so a worker that leaves
-- its sale to the sidecar does not waste a slot).
--
-- The only definition: the migrations that change it, and the baseline,
-- load this file (\ir).  A change is made here and loaded by a new
-- migration; t/072 checks that both ways to a schema agree.
CREATE OR REPLACE FUNCTION traffic_amocrm_take(p_per_second integer,
                                               p_max_wait double precision)
RETURNS double precision LANGUAGE sql AS $$
    UPDATE amocrm_rate
    SET next_at = greatest(next_at, clock_timestamp())
                  + interval '1.05 second' / p_per_second
    WHERE id = 1 AND next_at <= clock_timestamp()
                                + p_max_wait * interval '1 second'
    RETURNING greatest(0, extract(epoch FROM next_at
        - interval '1.05 second' / p_per_second - clock_timestamp()))
        ::double precision
$$;
