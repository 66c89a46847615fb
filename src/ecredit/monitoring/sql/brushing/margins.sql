-- What the accounts and shops of this round's blocks weigh over the whole period (not only in their window):
-- the background each block is compared with (score.sql) and the share of an account's activity that lies in
-- its block (found.sql). A shop's is its orders times its weight; an account's the weights of its orders' shops.
WITH members AS (
    SELECT DISTINCT CAST(floor(p / $stride) AS BIGINT) AS pi, a FROM brushing_blk
)
SELECT 'a' AS mode, o.pi, o.a AS k, sum(sh.w) AS mass
FROM brushing_o AS o
JOIN members AS x ON x.pi = o.pi AND x.a = o.a
JOIN brushing_shops AS sh ON sh.pi = o.pi AND sh.s = o.s
GROUP BY o.pi, o.a
UNION ALL
SELECT 's' AS mode, sh.pi, sh.s AS k, sh.orders * sh.w AS mass
FROM brushing_shops AS sh
JOIN (SELECT DISTINCT CAST(floor(p / $stride) AS BIGINT) AS pi, s FROM brushing_blk) AS x ON x.pi = sh.pi AND x.s = sh.s
