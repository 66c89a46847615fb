-- Refund rate: the share of paid orders refunded, orders of accounts detected as extortion reviewers left out
-- (their refunds are extorted from the shop, not the shop's fault) (step shop_trade).
SELECT s.entity_key, CAST(t.refunded_net AS DOUBLE) / t.paid_net AS raw, t.paid_net AS n
FROM shop_trade AS t
JOIN store_shops AS s ON s.platform = t.platform AND s.platform_shop_id = t.shop_id
WHERE t.paid_net > 0
