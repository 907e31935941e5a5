-- The stored sales reconciliation checks back: those sold, or changed by
-- their lead, since $1 (unix seconds), won or reversed, and whether won.
SELECT lead_id, sale_state = 'won' AS won FROM sales_notifications
WHERE sale_date >= to_timestamp($1::bigint)
 OR lead_updated_at >= to_timestamp($1::bigint)
ORDER BY lead_id
