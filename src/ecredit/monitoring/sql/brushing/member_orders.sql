-- The non-cancelled orders of the accepted blocks' accounts (brushing_found), with their keys and the ids the
-- findings report: one more read of the orders, for these few accounts. Every shop of a block sold to one of
-- its accounts, so the shops' ids are here too (ids.sql); the rings' evidence is chosen from these orders.
SELECT
    pl.pi,
    key64(o.buyer_id) AS a,
    key64(o.shop_id) AS s,
    CAST(floor((floor(epoch(o.ordered_at)) + $utc_offset_s) / 86400.0) AS BIGINT) AS t,
    o.platform,
    o.order_id,
    o.buyer_id,
    o.shop_id,
    o.ordered_at
FROM orders AS o
JOIN brushing_platforms AS pl ON pl.platform = o.platform
JOIN (SELECT DISTINCT pi, a FROM brushing_found) AS f ON f.pi = pl.pi AND f.a = key64(o.buyer_id)
WHERE o.status <> 'cancelled'
