-- The stored sales reconciliation checks back: those sold, or changed by
-- their lead, since $1 (unix seconds), won or reversed.
SELECT lead_id FROM sales_notifications
WHERE sale_date >= to_timestamp($1::bigint)
 OR lead_updated_at >= to_timestamp($1::bigint)
ORDER BY lead_id
