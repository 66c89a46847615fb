-- The (window, account, shop, day) tensor: one row per order and window, its mass the shop's weight. A window
-- is window_days consecutive local days starting every step_days; each order falls into window_days /
-- step_days overlapping windows, so any ring whose activity lasts at most window_days - step_days + 1 days
-- lies whole inside one. Partition p = platform and window (p = the platform's number * $stride + the window's
-- number): D-Cube runs in every partition at once. An account with fewer than $min_account_rows orders in a
-- window cannot act in lockstep there (score.sql asks for min_cells_per_account cells per account) and is left
-- out of that window: on a real platform most accounts order once in three weeks, so this keeps the search
-- (and every later read of the tensor) to the accounts that could form a ring. Likewise a shop that fewer than
-- $min_shop_accounts of those accounts bought from in the window cannot hold a ring there (without this, three
-- honest shoppers who happened to buy from the same few small shops in one window make a dense, sparse block).
WITH windowed AS (
    SELECT
        o.pi,
        o.pi * $stride + CAST(floor(o.t / $step_days) AS BIGINT) - k.k AS p,
        o.a,
        o.s,
        o.t
    FROM brushing_o AS o
    CROSS JOIN brushing_offsets AS k
),
active AS (
    SELECT w.pi, w.p, w.a, w.s, w.t
    FROM windowed AS w
    JOIN (
        SELECT p, a FROM windowed GROUP BY p, a HAVING count(*) >= $min_account_rows
    ) AS keep ON keep.p = w.p AND keep.a = w.a
),
-- The shop filter counts distinct accounts only where it has to: a shop with at least $min_shop_accounts * most
-- rows in the window (most: the orders of its most frequent buyer over the whole period, shop_index.sql) has at
-- least $min_shop_accounts accounts there, since no account has more than `most` rows at it (sure). The others
-- are counted.
counted AS (
    SELECT c.p, c.s, c.n >= $min_shop_accounts * sh.most AS sure, sh.w
    FROM (SELECT p, pi, s, count(*) AS n FROM active GROUP BY p, pi, s) AS c
    JOIN brushing_shops AS sh ON sh.pi = c.pi AND sh.s = c.s
    WHERE c.n >= $min_shop_accounts
),
keep AS (
    SELECT p, s, w FROM counted WHERE sure
    UNION ALL
    SELECT x.p, x.s, c.w
    FROM active AS x
    JOIN counted AS c ON c.p = x.p AND c.s = x.s AND NOT c.sure
    GROUP BY x.p, x.s, c.w
    HAVING count(DISTINCT x.a) >= $min_shop_accounts
)
-- Partitions and days fit 32 bits (partition numbers up to 2,147 platforms): narrower rows for every pass.
SELECT CAST(x.p AS INTEGER) AS p, x.a, x.s, CAST(x.t AS INTEGER) AS t, keep.w AS m
FROM active AS x
JOIN keep ON keep.p = x.p AND keep.s = x.s
