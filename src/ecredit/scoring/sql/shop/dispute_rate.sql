-- Dispute rate: the share of initial reviews rated 1 or 2 stars, reviews of accounts detected as extortion
-- reviewers (恶意差评) left out (step shop_reviews).
SELECT s.entity_key, CAST(r.low_net AS DOUBLE) / r.rated_net AS raw, r.rated_net AS n
FROM shop_reviews AS r
JOIN store_shops AS s ON s.platform = r.platform AND s.platform_shop_id = r.shop_id
WHERE r.rated_net > 0
