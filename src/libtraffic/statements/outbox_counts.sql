-- Pending and failed messages (traffic-ctl check).
SELECT count(*) FILTER (WHERE status = 'pending'),
 count(*) FILTER (WHERE status = 'failed') FROM notification_outbox
