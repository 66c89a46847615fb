-- The slices a local improvement adds to each partition's densest block (brushing_blk0): one step of greedy
-- addition as in
-- FRAUDAR and M-Zoom: bulk removal cuts every light slice of a mode at once, judged against the block of that
-- pass, so a slice cut early can be heavy against the final, smaller block. With M the block's mass and N its
-- number of slices, adding a slice of mass x raises the density M / (N / 3) exactly when x > M / N (the
-- block's average mass per slice). Every account (shop) outside the block whose mass into the block's shops
-- (accounts) and days exceeds M / N is added, all at once: each added slice brings more than M / N, so the
-- density still rises (improve.sql then makes the block). Only the rows at the block's shops or of its accounts
-- on its days are read (by_shop, by_account), not the whole tensor.
WITH ka AS (SELECT DISTINCT p, a FROM brushing_blk0),
ks AS (SELECT DISTINCT p, s FROM brushing_blk0),
kt AS (SELECT DISTINCT p, t FROM brushing_blk0),
sizes AS (
    SELECT p, count(*) AS n FROM ka GROUP BY p
    UNION ALL
    SELECT p, count(*) AS n FROM ks GROUP BY p
    UNION ALL
    SELECT p, count(*) AS n FROM kt GROUP BY p
),
bs AS (
    SELECT m.p, m.mass / n.n AS per_slice
    FROM (SELECT p, sum(m) AS mass FROM brushing_blk0 GROUP BY p) AS m
    JOIN (SELECT p, sum(n) AS n FROM sizes GROUP BY p) AS n ON n.p = m.p
),
by_shop AS (
    SELECT r.p, r.a, r.m
    FROM brushing_r AS r
    JOIN ks ON ks.p = r.p AND ks.s = r.s
    JOIN kt ON kt.p = r.p AND kt.t = r.t
    LEFT JOIN ka ON ka.p = r.p AND ka.a = r.a
    WHERE ka.p IS NULL
),
by_account AS (
    SELECT r.p, r.s, r.m
    FROM brushing_r AS r
    JOIN ka ON ka.p = r.p AND ka.a = r.a
    JOIN kt ON kt.p = r.p AND kt.t = r.t
    LEFT JOIN ks ON ks.p = r.p AND ks.s = r.s
    WHERE ks.p IS NULL
)
SELECT x.p, 'a' AS mode, x.a AS k
FROM by_shop AS x
JOIN bs ON bs.p = x.p
GROUP BY x.p, x.a, bs.per_slice
HAVING sum(x.m) > bs.per_slice
UNION ALL
SELECT x.p, 's' AS mode, x.s AS k
FROM by_account AS x
JOIN bs ON bs.p = x.p
GROUP BY x.p, x.s, bs.per_slice
HAVING sum(x.m) > bs.per_slice
