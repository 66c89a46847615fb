-- The orders the search reads, once: the lake view is read here only (its files are listed and de-duplicated
-- once per run, not once per step).
SELECT platform, order_id, shop_id, buyer_id, ordered_at
FROM orders
WHERE status <> 'cancelled'
