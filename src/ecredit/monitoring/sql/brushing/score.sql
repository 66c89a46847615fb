-- Each block against its expected mass. Background model: an account's and a shop's activity over the whole
-- period are independent and spread evenly over the platform's days, so a block of accounts A, shops S and days T
-- expects mass(A) * mass(S) / mass(platform) * |T| / days(platform). lift = observed / expected: a ring puts
-- nearly all of its accounts' activity into a few days at a few shops. cells_per_account above 1 means the
-- accounts act on the block repeatedly (lockstep) rather than once each by coincidence; a cell is an
-- (account, shop, day) with at least one order.
WITH bs AS (
    SELECT
        p,
        CAST(floor(p / $stride) AS BIGINT) AS pi,
        sum(m) AS mass,
        count(DISTINCT a) AS na,
        count(DISTINCT s) AS ns,
        count(DISTINCT t) AS nt
    FROM brushing_blk
    GROUP BY p
),
cells AS (
    SELECT p, count(*) AS cells FROM (SELECT DISTINCT p, a, s, t FROM brushing_blk) AS x GROUP BY p
),
ma AS (
    SELECT k.p, sum(g.mass) AS x
    FROM (SELECT DISTINCT p, CAST(floor(p / $stride) AS BIGINT) AS pi, a FROM brushing_blk) AS k
    JOIN brushing_margins AS g ON g.mode = 'a' AND g.pi = k.pi AND g.k = k.a
    GROUP BY k.p
),
ms AS (
    SELECT k.p, sum(g.mass) AS x
    FROM (SELECT DISTINCT p, CAST(floor(p / $stride) AS BIGINT) AS pi, s FROM brushing_blk) AS k
    JOIN brushing_margins AS g ON g.mode = 's' AND g.pi = k.pi AND g.k = k.s
    GROUP BY k.p
),
platform_mass AS (
    SELECT pi, sum(orders * w) AS mass FROM brushing_shops GROUP BY pi
),
scored AS (
    SELECT
        bs.p,
        bs.mass,
        bs.na,
        bs.ns,
        bs.nt,
        c.cells,
        CAST(c.cells AS DOUBLE) / bs.na AS cells_per_account,
        bs.mass / (ma.x * ms.x / pm.mass * bs.nt / pl.days) AS lift
    FROM bs
    JOIN cells AS c ON c.p = bs.p
    JOIN ma ON ma.p = bs.p
    JOIN ms ON ms.p = bs.p
    JOIN platform_mass AS pm ON pm.pi = bs.pi
    JOIN brushing_days AS pl ON pl.pi = bs.pi
)
SELECT
    *,
    (lift >= $min_lift AND na >= $min_accounts AND cells_per_account >= $min_cells_per_account) AS accepted
FROM scored
