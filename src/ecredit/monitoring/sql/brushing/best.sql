-- The densest block seen so far in each partition: the previous best (brushing_best), or a prefix of this iteration's
-- cut (brushing_cut). The pipeline renames the tables per iteration (base.rename).
WITH cand AS (
    SELECT p, it, rnk, (total - removed_mass) * 3.0 / (size - rnk) AS density
    FROM brushing_cut
    WHERE size - rnk > 0
),
top AS (
    SELECT p, it, rnk, density
    FROM (SELECT *, row_number() OVER (PARTITION BY p ORDER BY density DESC, rnk) AS pick FROM cand) AS x
    WHERE pick = 1
)
SELECT
    b.p,
    CASE WHEN t.density > b.density THEN t.density ELSE b.density END AS density,
    CASE WHEN t.density > b.density THEN t.it ELSE b.it END AS it,
    CASE WHEN t.density > b.density THEN t.rnk ELSE b.rnk END AS rnk
FROM brushing_best AS b
LEFT JOIN top AS t ON t.p = b.p
