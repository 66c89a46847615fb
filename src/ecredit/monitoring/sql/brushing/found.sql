-- The accepted blocks of this round, by the platforms' own ids, with their scores.
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
JOIN brushing_accounts AS acc ON acc.a = b.a
JOIN brushing_shops AS sh ON sh.s = b.s
