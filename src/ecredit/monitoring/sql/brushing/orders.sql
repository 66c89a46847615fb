-- Every non-cancelled order once, as the search reads it: (platform number, account key, shop key, local day).
-- Keys are 64-bit hashes of the platforms' own ids (key64), unique within a platform: grouping and joining on
-- them costs a fraction of doing so on text, and nothing orders by them (member_orders.sql and ids.sql map them
-- back). Orders are not grouped into (account, shop, day) cells: a slice's mass is the same sum either way, and
-- the steps that count cells (score.sql) count distinct ones.
SELECT
    pl.pi,
    key64(o.buyer_id) AS a,
    key64(o.shop_id) AS s,
    CAST(floor((floor(epoch(o.ordered_at)) + $utc_offset_s) / 86400.0) AS BIGINT) AS t
FROM orders AS o
JOIN brushing_platforms AS pl ON pl.platform = o.platform
WHERE o.status <> 'cancelled'
