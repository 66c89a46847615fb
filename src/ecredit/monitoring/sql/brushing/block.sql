-- The rows of each partition's densest block (brushing_best). Its slices are those its pass listed
-- (brushing_removed: a pass lists every slice of its block) that were still there at the best rank, i.e. all
-- but the ones removed at or before it (a slice pruned in that pass, rnk NULL, went after its candidates); the
-- partition itself (it = 0) is every slice the first pass listed. Its rows are the tensor's rows within those
-- slices (a few small sets: the tensor is probed, not anti-joined with every slice removed before).
WITH alive AS (
    SELECT c.p, c.mode, c.k
    FROM brushing_removed AS c
    JOIN brushing_best AS b ON b.p = c.p
    WHERE c.mode <> 'p'
        AND c.it = greatest(b.it, 1)
        AND (b.it = 0 OR c.kept OR c.rnk IS NULL OR c.rnk > b.rnk)
)
SELECT r.p, r.a, r.s, r.t, r.m
FROM brushing_r AS r
JOIN (SELECT p, k FROM alive WHERE mode = 's') AS ks ON ks.p = r.p AND ks.k = r.s
JOIN (SELECT p, k FROM alive WHERE mode = 'a') AS ka ON ka.p = r.p AND ka.k = r.a
JOIN (SELECT p, k FROM alive WHERE mode = 't') AS kt ON kt.p = r.p AND kt.k = r.t
