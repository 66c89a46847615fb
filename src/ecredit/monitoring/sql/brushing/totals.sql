-- Per partition: mass and the number of slices in each mode.
SELECT p, sum(m) AS mass, count(DISTINCT a) AS na, count(DISTINCT s) AS ns, count(DISTINCT t) AS nt
FROM brushing_r
GROUP BY p
