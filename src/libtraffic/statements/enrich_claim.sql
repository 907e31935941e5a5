-- Claims the oldest due sale waiting for the AmoCRM API, for a lease, so one
-- process asks for it.
--   $1 the lease (ms)
UPDATE sales_notifications s
SET enrich_lease_until = now() + $1 * interval '1 millisecond',
 enrich_attempts = s.enrich_attempts + 1
WHERE s.id = (SELECT id FROM sales_notifications
 WHERE enrich_status = 'pending' AND enrich_next_at <= now()
 AND (enrich_lease_until IS NULL OR enrich_lease_until < now())
 ORDER BY enrich_next_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING s.id, s.lead_id, s.enrich_attempts,
 extract(epoch FROM now() - s.created_at)::double precision AS age,
 s.utm_source, s.utm_medium, s.utm_campaign, s.utm_content,
 s.utm_term, s.utm_id, s.amocrm_base, s.source
