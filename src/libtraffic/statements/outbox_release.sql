-- Gives claimed messages back unsent: the sales of a batch that did not fit
-- its message go in the next one (their attempt not counted).
--   $1 the outbox ids (bigint[])
UPDATE notification_outbox SET lease_until = NULL,
 attempts = greatest(attempts - 1, 0)
WHERE id = ANY ($1::bigint[]) AND status = 'pending'
