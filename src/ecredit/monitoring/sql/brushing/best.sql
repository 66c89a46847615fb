-- The densest block of each partition over the whole search: the partition itself (it = 0: the first pass's
-- removal rows carry its mass and size, and every partition has a slice at most its mode's average, so a row
-- there) or a prefix of one pass's removal (brushing_removed: every pass's cut; rank = how many slices of it
-- were removed; pruned slices and finished partitions, rnk NULL, are no candidates). Density is the arithmetic
-- average mass per slice over the three modes. On a tie the earliest block wins (it, then rank).
WITH cand AS (
    SELECT p, max(total) * 3.0 / max(size) AS density, 0 AS it, 0 AS rnk
    FROM brushing_removed
    WHERE it = 1 AND rnk IS NOT NULL
    GROUP BY p
    UNION ALL
    SELECT DISTINCT p, (total - removed_mass) * 3.0 / (size - rnk) AS density, it, rnk
    FROM brushing_removed
    WHERE rnk IS NOT NULL AND size - rnk > 0
),
densest AS (
    SELECT p, max(density) AS density FROM cand GROUP BY p
),
first_pass AS (
    SELECT c.p, c.density, min(c.it) AS it
    FROM cand AS c
    JOIN densest AS d ON d.p = c.p AND d.density = c.density
    GROUP BY c.p, c.density
)
SELECT c.p, c.density, c.it, min(c.rnk) AS rnk
FROM cand AS c
JOIN first_pass AS f ON f.p = c.p AND f.density = c.density AND f.it = c.it
GROUP BY c.p, c.density, c.it
