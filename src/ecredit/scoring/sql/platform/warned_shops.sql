-- The share of the platform's shops named as a party in a risk warning that is not dismissed (warning kinds
-- of weight 0, whose shops are victims, left out).
WITH warned AS (
    SELECT DISTINCT w.platform, w.shop_ref
    FROM store_warning_shops AS w
    JOIN warning_weights AS k ON k.kind = w.kind
    WHERE k.weight > 0
)
SELECT
    p.entity_key,
    avg(CASE WHEN w.shop_ref IS NOT NULL THEN 1.0 ELSE 0.0 END) AS raw,
    count(*) AS n
FROM store_platforms AS p
JOIN store_shops AS s ON s.platform = p.platform
LEFT JOIN warned AS w ON w.platform = s.platform AND w.shop_ref = s.platform_shop_id
GROUP BY p.entity_key
