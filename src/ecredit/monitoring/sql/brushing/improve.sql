-- Each partition's densest block (brushing_blk0) improved by one step of greedy addition: with the slices
-- more.sql found (brushing_more), the block is every row of the partition within its accounts, shops and days
-- (the rows between two added slices included: they only add to the density).
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
kt AS (SELECT DISTINCT p, t FROM brushing_blk0)
SELECT r.p, r.a, r.s, r.t, r.m
FROM brushing_r AS r
JOIN ss ON ss.p = r.p AND ss.s = r.s
JOIN aa ON aa.p = r.p AND aa.a = r.a
JOIN kt ON kt.p = r.p AND kt.t = r.t
