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
),
members AS (
    SELECT b.p, b.a, b.s, b.t, b.m
    FROM brushing_blk AS b
    JOIN brushing_score AS sc ON sc.p = b.p AND sc.accepted
    JOIN own ON own.p = b.p AND own.a = b.a
    JOIN ringed ON ringed.p = b.p
),
-- The members' block is trimmed once more, as improve.sql trims: a shop whose orders from the members weigh
-- less than the members' block's mass per slice M / N lowers its density (it was in the block for the orders
-- of accounts that are not members: a popular shop where ring accounts place their camouflage).
per AS (
    SELECT p, sum(m) / (count(DISTINCT a) + count(DISTINCT s) + count(DISTINCT t)) AS per_slice
    FROM members
    GROUP BY p
),
strong AS (
    SELECT x.p, x.s
    FROM members AS x
    JOIN per ON per.p = x.p
    GROUP BY x.p, x.s, per.per_slice
    HAVING sum(x.m) >= per.per_slice
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
FROM members AS b
JOIN strong ON strong.p = b.p AND strong.s = b.s
JOIN brushing_score AS sc ON sc.p = b.p
