-- Big-data monitoring risk: the sum over the risk warnings naming the shop as a party (not dismissed) of the
-- warning's confidence x its kind's weight, confirmed warnings x $confirmed_factor.
SELECT
    s.entity_key,
    sum(w.confidence * k.weight * CASE WHEN w.status = 'confirmed' THEN $confirmed_factor ELSE 1.0 END) AS raw,
    count(*) AS n
FROM store_warning_shops AS w
JOIN warning_weights AS k ON k.kind = w.kind
JOIN store_shops AS s ON s.platform = w.platform AND s.platform_shop_id = w.shop_ref
GROUP BY s.entity_key
