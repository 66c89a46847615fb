-- Extortion reviewers (恶意差评): accounts that post negative reviews at many different shops and, after the
-- review, get money back. Per account: shops with a negative review, and shops where a refund followed a negative
-- review within $refund_hours hours (the shop paying to have the review withdrawn or to stop a complaint).
WITH neg AS (
    SELECT
        r.platform,
        r.buyer_id,
        r.shop_id,
        r.review_id,
        r.order_id,
        r.rating,
        r.reviewed_at,
        p.refund_cents,
        p.refunded_at,
        (p.refunded_at IS NOT NULL AND p.refunded_at > r.reviewed_at
            AND date_diff('second', r.reviewed_at, p.refunded_at) <= $refund_hours * 3600) AS refund_after
    FROM reviews AS r
    LEFT JOIN payments AS p ON p.platform = r.platform AND p.order_id = r.order_id
    WHERE r.rating <= $max_rating
),
acc AS (
    SELECT
        platform,
        buyer_id,
        count(DISTINCT shop_id) AS negative_shops,
        count(DISTINCT CASE WHEN refund_after THEN shop_id END) AS refunded_shops,
        CAST(sum(CASE WHEN refund_after THEN refund_cents ELSE 0 END) AS BIGINT) AS refund_cents
    FROM neg
    GROUP BY platform, buyer_id
    HAVING count(DISTINCT shop_id) >= $min_shops
        AND count(DISTINCT CASE WHEN refund_after THEN shop_id END) >= $min_refunded_shops
)
SELECT
    a.platform,
    a.buyer_id,
    a.negative_shops,
    a.refunded_shops,
    a.refund_cents,
    n.review_id,
    n.order_id,
    n.shop_id,
    n.rating,
    n.reviewed_at,
    n.refunded_at,
    n.refund_after
FROM acc AS a
JOIN neg AS n ON n.platform = a.platform AND n.buyer_id = a.buyer_id
