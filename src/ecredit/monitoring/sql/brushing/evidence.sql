-- The orders behind each ring: its accounts' non-cancelled orders to its shops inside its days (local calendar
-- days). Members and shops are given by key (brushing_ring_members: ring, pi, a; brushing_ring_shops: ring, pi,
-- s).
SELECT
    g.ring,
    o.platform,
    o.order_id,
    o.shop_id,
    o.buyer_id,
    o.ordered_at
FROM brushing_member_orders AS o
JOIN brushing_ring_members AS g ON g.pi = o.pi AND g.a = o.a
JOIN brushing_ring_shops AS rs ON rs.ring = g.ring AND rs.pi = o.pi AND rs.s = o.s
JOIN brushing_ring_days AS d ON d.ring = g.ring
WHERE o.t BETWEEN d.first_day AND d.last_day
