-- The orders behind each ring: its accounts' orders to its shops inside its days (local calendar days).
SELECT
    g.ring,
    o.platform,
    o.order_id,
    o.shop_id,
    o.buyer_id,
    o.ordered_at
FROM brushing_orders AS o
JOIN brushing_ring_members AS g ON g.platform = o.platform AND g.buyer_id = o.buyer_id
JOIN brushing_ring_shops AS rs ON rs.ring = g.ring AND rs.shop_id = o.shop_id
JOIN brushing_ring_days AS d ON d.ring = g.ring
WHERE TRUE
    AND CAST(floor((floor(epoch(o.ordered_at)) + $utc_offset_s) / 86400.0) AS BIGINT)
        BETWEEN d.first_day AND d.last_day
