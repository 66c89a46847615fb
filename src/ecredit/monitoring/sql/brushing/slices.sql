-- D-Cube (Shin et al., WSDM 2017): the mass of every slice of the current block, all modes in one scan.
SELECT
    p,
    CASE WHEN grouping(a) = 0 THEN 'a' WHEN grouping(s) = 0 THEN 's' ELSE 't' END AS mode,
    coalesce(a, s, t) AS k,
    sum(m) AS mass
FROM brushing_b
GROUP BY GROUPING SETS ((p, a), (p, s), (p, t))
