-- A request slot of the pool's AmoCRM rate (sql/003): the seconds to wait.
--   $1 AMOCRM_RATE
SELECT traffic_amocrm_slot($1::integer)
