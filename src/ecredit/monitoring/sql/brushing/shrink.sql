-- The block for the next pass: the current one without the slices this pass removed (brushing_cut), and
-- without the partitions it finished (mode 'p').
SELECT b.*
FROM brushing_b AS b
LEFT JOIN (SELECT p, k FROM brushing_cut WHERE mode = 'a') AS ca ON ca.p = b.p AND ca.k = b.a
LEFT JOIN (SELECT p, k FROM brushing_cut WHERE mode = 's') AS cs ON cs.p = b.p AND cs.k = b.s
LEFT JOIN (SELECT p, k FROM brushing_cut WHERE mode = 't') AS ct ON ct.p = b.p AND ct.k = b.t
LEFT JOIN (SELECT DISTINCT p FROM brushing_cut WHERE mode = 'p') AS cp ON cp.p = b.p
WHERE ca.p IS NULL AND cs.p IS NULL AND ct.p IS NULL AND cp.p IS NULL
