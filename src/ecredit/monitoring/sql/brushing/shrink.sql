-- The block for the next pass: the current one within the slices this pass kept (brushing_cut: every slice of
-- the block is listed, kept or not), without the partitions it finished (mode 'p'). Joining the kept slices
-- is cheaper than anti-joining the removed ones: after the first passes most slices of a block go.
SELECT b.*
FROM brushing_b AS b
JOIN (SELECT p, k FROM brushing_cut WHERE mode = 'a' AND kept) AS ka ON ka.p = b.p AND ka.k = b.a
JOIN (SELECT p, k FROM brushing_cut WHERE mode = 's' AND kept) AS ks ON ks.p = b.p AND ks.k = b.s
JOIN (SELECT p, k FROM brushing_cut WHERE mode = 't' AND kept) AS kt ON kt.p = b.p AND kt.k = b.t
LEFT JOIN (SELECT DISTINCT p FROM brushing_cut WHERE mode = 'p') AS cp ON cp.p = b.p
WHERE cp.p IS NULL
