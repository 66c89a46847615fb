-- The accepted blocks of this round, by keys, with their scores (ids.sql maps the keys to the platforms' ids).
-- An account of an accepted block is a ring member only when at least $min_account_share of its mass over the
-- whole period lies in the block: ring accounts spend most of their activity on the ring, while an honest
-- shopper who happened to buy from a ring shop inside the window (and so sits in the block with a cell or two)
-- spends most of it elsewhere. A block with fewer than $min_accounts such members is no ring (its partition is
-- still searched again).
WITH own AS (
    SELECT b.p, b.a
    FROM brushing_blk AS b
    JOIN brushing_margins AS g ON g.mode = 'a' AND g.pi = CAST(floor(b.p / $stride) AS BIGINT) AND g.k = b.a
    GROUP BY b.p, b.a, g.mass
    HAVING sum(b.m) >= $min_account_share * g.mass
),
-- a ring needs min_accounts members, not only min_accounts accounts in its block (score.sql)
ringed AS (
    SELECT p FROM own GROUP BY p HAVING count(*) >= $min_accounts
)
SELECT DISTINCT
    $round AS round,
    b.p,
    CAST(floor(b.p / $stride) AS BIGINT) AS pi,
    b.a,
    b.s,
    b.t,
    sc.lift,
    sc.mass AS block_mass,
    sc.cells_per_account
FROM brushing_blk AS b
JOIN brushing_score AS sc ON sc.p = b.p AND sc.accepted
JOIN own ON own.p = b.p AND own.a = b.a
JOIN ringed ON ringed.p = b.p
