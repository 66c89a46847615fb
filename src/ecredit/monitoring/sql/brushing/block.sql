-- The densest block of each partition: its rows are those whose three slices were still in the block when it
-- was densest (removed neither in an earlier pass nor in an earlier-or-equal rank of the best one; a slice
-- pruned in the best pass, rnk NULL, went after its candidates).
WITH gone AS (
    SELECT c.p, c.mode, c.k
    FROM brushing_removed AS c
    JOIN brushing_best AS b ON b.p = c.p
    WHERE c.mode <> 'p' AND (c.it < b.it OR (c.it = b.it AND c.rnk <= b.rnk))
)
SELECT r.p, r.a, r.s, r.t, r.m
FROM brushing_r AS r
JOIN (SELECT DISTINCT p FROM brushing_best) AS bp ON bp.p = r.p
LEFT JOIN (SELECT p, k FROM gone WHERE mode = 'a') AS ga ON ga.p = r.p AND ga.k = r.a
LEFT JOIN (SELECT p, k FROM gone WHERE mode = 's') AS gs ON gs.p = r.p AND gs.k = r.s
LEFT JOIN (SELECT p, k FROM gone WHERE mode = 't') AS gt ON gt.p = r.p AND gt.k = r.t
WHERE ga.p IS NULL AND gs.p IS NULL AND gt.p IS NULL
