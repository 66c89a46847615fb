-- Trading volume: log10(1 + paid orders) up to the evaluation instant (step shop_trade).
SELECT s.entity_key, log10(t.paid + 1.0) AS raw, t.paid AS n
FROM shop_trade AS t
JOIN store_shops AS s ON s.platform = t.platform AND s.platform_shop_id = t.shop_id
