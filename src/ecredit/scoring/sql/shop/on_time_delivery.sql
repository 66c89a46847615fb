-- On-time dispatch: of the orders paid at least $dispatch_hours before the evaluation instant and not
-- cancelled, the share whose parcel was created within $dispatch_hours of payment (step shop_trade).
SELECT s.entity_key, CAST(t.on_time AS DOUBLE) / t.due AS raw, t.due AS n
FROM shop_trade AS t
JOIN store_shops AS s ON s.platform = t.platform AND s.platform_shop_id = t.shop_id
WHERE t.due > 0
