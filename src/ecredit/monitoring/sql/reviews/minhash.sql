-- MinHash signatures of the candidates' character shingles (Broder 1997), banded for locality-sensitive hashing:
-- every band of three hashes is one bucket key; two texts share a bucket with probability about J^3 per band
-- (J = Jaccard similarity of their shingle sets). md5 keeps the hashes identical on every engine.
WITH shingles AS (
    SELECT DISTINCT c.platform, c.review_id, substr(c.text, pos.i, $shingle) AS g
    FROM fake_review_candidates AS c
    JOIN fake_review_positions AS pos ON pos.i <= length(c.text) - $shingle + 1
),
hashed AS (
    SELECT s.platform, s.review_id, h.band, h.slot, min(md5(concat(h.seed, s.g))) AS mh
    FROM shingles AS s
    CROSS JOIN fake_review_seeds AS h
    GROUP BY s.platform, s.review_id, h.band, h.slot
)
SELECT
    platform,
    review_id,
    band,
    concat(
        max(CASE WHEN slot = 0 THEN mh END), ':',
        max(CASE WHEN slot = 1 THEN mh END), ':',
        max(CASE WHEN slot = 2 THEN mh END)
    ) AS bucket
FROM hashed
GROUP BY platform, review_id, band
