-- Positive reviews of orders that are evidence of a brushing ring (found by brushing_ring in the same run).
SELECT r.platform, r.review_id, r.order_id, r.shop_id, r.buyer_id, r.rating, r.reviewed_at
FROM reviews AS r
JOIN brushing_evidence AS e ON e.platform = r.platform AND e.order_id = r.order_id
WHERE r.rating >= $min_rating
