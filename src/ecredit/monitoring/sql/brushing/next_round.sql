-- The next round searches again only where a block was accepted, without that block's rows.
SELECT r.*
FROM brushing_r AS r
JOIN (SELECT p FROM brushing_score WHERE accepted) AS ok ON ok.p = r.p
LEFT JOIN brushing_blk AS b ON b.p = r.p AND b.a = r.a AND b.s = r.s AND b.t = r.t
WHERE b.p IS NULL
