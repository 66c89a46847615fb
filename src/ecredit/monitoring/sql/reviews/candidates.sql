-- Positive reviews long enough to be compared as texts (short texts such as "好评" collide by nature).
SELECT platform, review_id, order_id, shop_id, buyer_id, rating, reviewed_at, substr(text, 1, $max_chars) AS text
FROM reviews
WHERE rating >= $min_rating AND length(text) >= $min_chars
