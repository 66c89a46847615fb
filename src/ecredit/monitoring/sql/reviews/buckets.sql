-- LSH buckets holding at least two reviews: the candidate near-duplicate pairs, as bucket memberships.
SELECT m.platform, m.band, m.bucket, m.review_id
FROM fake_review_minhash AS m
JOIN (
    SELECT platform, band, bucket
    FROM fake_review_minhash
    GROUP BY platform, band, bucket
    HAVING count(*) >= 2
) AS b ON b.platform = m.platform AND b.band = m.band AND b.bucket = m.bucket
