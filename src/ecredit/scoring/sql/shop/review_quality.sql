-- Review quality net of detected fraud: the mean rating of initial reviews, leaving out reviews named in fake
-- review warnings and reviews of accounts named in brushing-ring warnings (step shop_reviews).
SELECT s.entity_key, CAST(r.clean_rating_sum AS DOUBLE) / r.clean AS raw, r.clean AS n
FROM shop_reviews AS r
JOIN store_shops AS s ON s.platform = r.platform AND s.platform_shop_id = r.shop_id
WHERE r.clean > 0
