-- Each block against its expected mass. Background model: an account's and a shop's activity over the whole
-- period are independent and spread evenly over the platform's days, so a block of accounts A, shops S and days T
-- expects mass(A) * mass(S) / mass(platform) * |T| / days(platform). lift = observed / expected: a ring puts
-- nearly all of its accounts' activity into a few days at a few shops. cells_per_account above 1 means the
-- accounts act on the block repeatedly (lockstep) rather than once each by coincidence.
WITH bs AS (
    SELECT p, sum(m) AS mass, count(DISTINCT a) AS na, count(DISTINCT s) AS ns, count(DISTINCT t) AS nt, count(*) AS cells
    FROM brushing_blk
    GROUP BY p
),
ma AS (
    SELECT k.p, sum(g.mass) AS x
    FROM (SELECT DISTINCT p, a FROM brushing_blk) AS k
    JOIN brushing_margins AS g ON g.mode = 'a' AND g.k = k.a
    GROUP BY k.p
),
ms AS (
    SELECT k.p, sum(g.mass) AS x
    FROM (SELECT DISTINCT p, s FROM brushing_blk) AS k
    JOIN brushing_margins AS g ON g.mode = 's' AND g.k = k.s
    GROUP BY k.p
),
scored AS (
    SELECT
        bs.p,
        bs.mass,
        bs.na,
        bs.ns,
        bs.nt,
        bs.cells,
        CAST(bs.cells AS DOUBLE) / bs.na AS cells_per_account,
        bs.mass / (ma.x * ms.x / pl.mass * bs.nt / pl.days) AS lift
    FROM bs
    JOIN ma ON ma.p = bs.p
    JOIN ms ON ms.p = bs.p
    JOIN brushing_platforms AS pl ON pl.pi = CAST(floor(bs.p / $stride) AS BIGINT)
)
SELECT
    *,
    (lift >= $min_lift AND na >= $min_accounts AND cells_per_account >= $min_cells_per_account) AS accepted
FROM scored
