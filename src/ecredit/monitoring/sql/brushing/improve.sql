-- Each partition's densest block improved by one step of greedy addition, then one of removal (the two
-- directions of M-Zoom's local search, Shin et al., PKDD 2016). Addition: its slices (those of brushing_blk0's
-- rows) and the ones more.sql adds (brushing_more); the block is every row of the partition within its accounts, shops and
-- days (the rows between two added slices included: they only add to the density). Removal: a slice whose mass
-- in that block is below the block's mass per slice M / N lowers the density; all of them go at once (each
-- takes less than M / N away, and the rows two of them share are taken once), so the density rises again.
WITH aa AS (
    SELECT DISTINCT p, a FROM brushing_blk0
    UNION ALL
    SELECT p, k AS a FROM brushing_more WHERE mode = 'a'
),
ss AS (
    SELECT DISTINCT p, s FROM brushing_blk0
    UNION ALL
    SELECT p, k AS s FROM brushing_more WHERE mode = 's'
),
kt AS (SELECT DISTINCT p, t FROM brushing_blk0),
added AS (
    SELECT r.p, r.a, r.s, r.t, r.m
    FROM brushing_r AS r
    JOIN ss ON ss.p = r.p AND ss.s = r.s
    JOIN aa ON aa.p = r.p AND aa.a = r.a
    JOIN kt ON kt.p = r.p AND kt.t = r.t
),
sl AS (
    SELECT p, 'a' AS mode, a AS k, sum(m) AS mass FROM added GROUP BY p, a
    UNION ALL
    SELECT p, 's' AS mode, s AS k, sum(m) AS mass FROM added GROUP BY p, s
    UNION ALL
    SELECT p, 't' AS mode, t AS k, sum(m) AS mass FROM added GROUP BY p, t
),
per AS (
    SELECT p, sum(mass) / 3.0 / count(*) AS per_slice FROM sl GROUP BY p
),
weak AS (
    SELECT sl.p, sl.mode, sl.k FROM sl JOIN per ON per.p = sl.p WHERE sl.mass < per.per_slice
)
SELECT x.p, x.a, x.s, x.t, x.m
FROM added AS x
LEFT JOIN (SELECT p, k FROM weak WHERE mode = 'a') AS wa ON wa.p = x.p AND wa.k = x.a
LEFT JOIN (SELECT p, k FROM weak WHERE mode = 's') AS ws ON ws.p = x.p AND ws.k = x.s
LEFT JOIN (SELECT p, k FROM weak WHERE mode = 't') AS wt ON wt.p = x.p AND wt.k = x.t
WHERE wa.p IS NULL AND ws.p IS NULL AND wt.p IS NULL
