-- Identity verification (SB/T 11227 basic information): 1 when the shop is verified and its verification still
-- runs on the evaluation date, 0 when verification was rejected, 0.3 when it was never verified or lapsed.
SELECT
    entity_key,
    CASE
        WHEN verification_status = 'verified' AND verified_until >= $as_of_ts THEN 1.0
        WHEN verification_status = 'rejected' THEN 0.0
        ELSE 0.3
    END AS raw,
    1 AS n
FROM store_shops
