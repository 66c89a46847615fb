-- The accepted blocks of this round, by the platforms' own ids, with their scores. An account of an accepted
-- block is a ring member only when at least $min_account_share of its mass over the whole period lies in the
-- block: ring accounts spend most of their activity on the ring, while an honest shopper who happened to buy
-- from a ring shop inside the window (and so sits in the block with a cell or two) spends most of it elsewhere.
WITH own AS (
    SELECT b.p, b.a
    FROM brushing_blk AS b
    JOIN brushing_margins AS g ON g.mode = 'a' AND g.k = b.a
    GROUP BY b.p, b.a, g.mass
    HAVING sum(b.m) >= $min_account_share * g.mass
)
SELECT
    $round AS round,
    b.p,
    acc.platform,
    acc.buyer_id,
    sh.shop_id,
    b.t,
    sc.lift,
    sc.mass AS block_mass,
    sc.cells_per_account
FROM brushing_blk AS b
JOIN brushing_score AS sc ON sc.p = b.p AND sc.accepted
JOIN own ON own.p = b.p AND own.a = b.a
JOIN brushing_accounts AS acc ON acc.a = b.a
JOIN brushing_shops AS sh ON sh.s = b.s
