-- Step: one pass over the initial reviews per shop, shared by the review indicators. rated_net, low_net: the
-- reviews and those rated 1-2 stars, leaving out accounts detected as extortion reviewers (恶意差评); clean,
-- clean_rating_sum: the reviews and their ratings, leaving out reviews named in fake-review warnings and
-- reviews of accounts named in brushing-ring warnings (warnings not dismissed).
WITH extortion AS (
    SELECT DISTINCT platform, account_id FROM store_flagged_accounts WHERE kind = 'extortion_reviewer'
),
ring AS (
    SELECT DISTINCT platform, account_id FROM store_flagged_accounts WHERE kind = 'brushing_ring'
),
facts AS (
    SELECT
        r.platform,
        r.shop_id,
        r.rating,
        CASE WHEN x.account_id IS NULL THEN 1 ELSE 0 END AS net,
        CASE WHEN f.review_id IS NULL AND b.account_id IS NULL THEN 1 ELSE 0 END AS clean
    FROM reviews AS r
    LEFT JOIN extortion AS x ON x.platform = r.platform AND x.account_id = r.buyer_id
    LEFT JOIN store_flagged_reviews AS f ON f.platform = r.platform AND f.review_id = r.review_id
    LEFT JOIN ring AS b ON b.platform = r.platform AND b.account_id = r.buyer_id
    WHERE r.kind = 'initial' AND r.reviewed_at <= $as_of_ts
)
SELECT
    platform,
    shop_id,
    CAST(sum(net) AS BIGINT) AS rated_net,
    CAST(sum(CASE WHEN rating <= 2 THEN net ELSE 0 END) AS BIGINT) AS low_net,
    CAST(sum(clean) AS BIGINT) AS clean,
    CAST(sum(clean * rating) AS BIGINT) AS clean_rating_sum
FROM facts
GROUP BY platform, shop_id
