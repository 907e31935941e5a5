-- Pending and failed messages (traffic-ctl check).
SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
 count(*) FILTER (WHERE status = 'failed') AS failed FROM notification_outbox
