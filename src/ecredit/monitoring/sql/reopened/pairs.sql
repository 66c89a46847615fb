-- Re-opened shops (换壳重开): a shop that closed (every listing delisted) and, soon after, a new shop tied to the same people —
-- the same operating subject (same USCC or citizen ID), the same legal representative, or the same contact phone
-- (store snapshot store_shop_links) — on any platform. The old shop's record (negative reviews, refunds,
-- confirmed warnings passed in as prior_misconduct) sets how sure the finding is.
WITH activity AS (
    SELECT platform, shop_id, count(*) AS orders, max(ordered_at) AS last_order,
        CAST(sum(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END) AS BIGINT) AS refunds
    FROM orders
    GROUP BY platform, shop_id
),
quality AS (
    SELECT platform, shop_id, count(*) AS reviews, CAST(sum(CASE WHEN rating <= 2 THEN 1 ELSE 0 END) AS BIGINT) AS negative
    FROM reviews
    GROUP BY platform, shop_id
),
norms AS (
    SELECT
        a.platform,
        approx_quantile(coalesce(CAST(q.negative AS DOUBLE) / q.reviews, 0.0), CAST($norm_quantile AS FLOAT)) AS negative_norm,
        approx_quantile(CAST(a.refunds AS DOUBLE) / a.orders, CAST($norm_quantile AS FLOAT)) AS refund_norm
    FROM activity AS a
    LEFT JOIN quality AS q ON q.platform = a.platform AND q.shop_id = a.shop_id
    GROUP BY a.platform
),
closures AS (
    SELECT platform, shop_id, max(delisted_at) AS closed_at
    FROM listings
    GROUP BY platform, shop_id
    HAVING count(*) = count(delisted_at)
),
closed AS (
    SELECT
        l.platform,
        l.shop_id,
        l.link,
        l.link_key,
        a.orders,
        a.refunds,
        greatest(a.last_order, x.closed_at) AS last_order,
        coalesce(q.reviews, 0) AS reviews,
        coalesce(q.negative, 0) AS negative,
        (coalesce(CAST(q.negative AS DOUBLE) / q.reviews, 0.0) > n.negative_norm
            OR CAST(a.refunds AS DOUBLE) / a.orders > n.refund_norm) AS worse_than_norm
    FROM store_shop_links AS l
    JOIN activity AS a ON a.platform = l.platform AND a.shop_id = l.shop_id
    LEFT JOIN quality AS q ON q.platform = l.platform AND q.shop_id = l.shop_id
    JOIN norms AS n ON n.platform = l.platform
    JOIN closures AS x ON x.platform = l.platform AND x.shop_id = l.shop_id
)
SELECT
    c.platform AS old_platform,
    c.shop_id AS old_shop_id,
    c.link AS old_link,
    n.platform AS new_platform,
    n.shop_id AS new_shop_id,
    n.link AS new_link,
    n.opened_date,
    c.last_order,
    c.orders,
    c.refunds,
    c.reviews,
    c.negative,
    c.worse_than_norm,
    (m.shop_id IS NOT NULL) AS prior_misconduct,
    date_diff('day', CAST(c.last_order AS DATE), n.opened_date) AS gap_days
FROM closed AS c
JOIN store_shop_links AS n ON n.link_key = c.link_key
LEFT JOIN prior_misconduct AS m ON m.platform = c.platform AND m.shop_id = c.shop_id
WHERE NOT (n.platform = c.platform AND n.shop_id = c.shop_id)
    AND n.opened_date IS NOT NULL
    AND date_diff('day', CAST(c.last_order AS DATE), n.opened_date) BETWEEN -$tolerance_days AND $max_gap_days
