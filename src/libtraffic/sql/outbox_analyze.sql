-- Fresh statistics of the outbox (sql/012's traffic_outbox_analyze): every
-- session plans its statements again, for the outbox as it is now.
SELECT traffic_outbox_analyze()
