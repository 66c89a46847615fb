-- A local improvement of each partition's densest block (brushing_blk0), one step of greedy addition as in
-- FRAUDAR and M-Zoom: bulk removal cuts every light slice of a mode at once, judged against the block of that
-- pass, so a slice cut early can be heavy against the final, smaller block. With M the block's mass and N its
-- number of slices, adding a slice of mass x raises the density M / (N / 3) exactly when x > M / N (the
-- block's average mass per slice). Every account (shop) outside the block whose mass into the block's shops
-- (accounts) and days exceeds M / N is added, all at once: each added slice brings more than M / N, so the
-- density still rises. The block is then every cell of the partition within its accounts, shops and days.
WITH bs AS (
    SELECT p, sum(m) / (count(DISTINCT a) + count(DISTINCT s) + count(DISTINCT t)) AS per_slice
    FROM brushing_blk0
    GROUP BY p
),
ka AS (SELECT DISTINCT p, a FROM brushing_blk0),
ks AS (SELECT DISTINCT p, s FROM brushing_blk0),
kt AS (SELECT DISTINCT p, t FROM brushing_blk0),
more_a AS (
    SELECT r.p, r.a
    FROM brushing_r AS r
    JOIN ks ON ks.p = r.p AND ks.s = r.s
    JOIN kt ON kt.p = r.p AND kt.t = r.t
    JOIN bs ON bs.p = r.p
    LEFT JOIN ka ON ka.p = r.p AND ka.a = r.a
    WHERE ka.p IS NULL
    GROUP BY r.p, r.a, bs.per_slice
    HAVING sum(r.m) > bs.per_slice
),
more_s AS (
    SELECT r.p, r.s
    FROM brushing_r AS r
    JOIN ka ON ka.p = r.p AND ka.a = r.a
    JOIN kt ON kt.p = r.p AND kt.t = r.t
    JOIN bs ON bs.p = r.p
    LEFT JOIN ks ON ks.p = r.p AND ks.s = r.s
    WHERE ks.p IS NULL
    GROUP BY r.p, r.s, bs.per_slice
    HAVING sum(r.m) > bs.per_slice
),
aa AS (SELECT p, a FROM ka UNION ALL SELECT p, a FROM more_a),
ss AS (SELECT p, s FROM ks UNION ALL SELECT p, s FROM more_s)
SELECT r.p, r.a, r.s, r.t, r.m
FROM brushing_r AS r
JOIN aa ON aa.p = r.p AND aa.a = r.a
JOIN ss ON ss.p = r.p AND ss.s = r.s
JOIN kt ON kt.p = r.p AND kt.t = r.t
