-- The densest block of each partition over the whole search: the partition itself (it = 0: the first pass's
-- cut carries its mass and size, and every partition has a slice at most its mode's average, so a row there) or
-- a prefix of one pass's cut (brushing_removed: every pass's cut, rank = how many slices of it were removed).
-- Density is the arithmetic average mass per slice over the three modes. On a tie the earliest block wins (it,
-- then rank).
WITH cand AS (
    SELECT p, max(total) * 3.0 / max(size) AS density, 0 AS it, 0 AS rnk
    FROM brushing_removed
    WHERE it = 1
    GROUP BY p
    UNION ALL
    SELECT p, (total - removed_mass) * 3.0 / (size - rnk) AS density, it, rnk
    FROM brushing_removed
    WHERE size - rnk > 0
)
SELECT p, density, it, rnk
FROM (SELECT *, row_number() OVER (PARTITION BY p ORDER BY density DESC, it, rnk) AS pick FROM cand) AS x
WHERE pick = 1
