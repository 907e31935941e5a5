-- A request slot within $2 seconds of the pool's AmoCRM rate $1
-- (traffic_amocrm_take, sql/functions/):
-- the seconds to wait for it, or no row (nothing taken).
SELECT w FROM traffic_amocrm_take($1::integer, $2::double precision) AS w
WHERE w IS NOT NULL
