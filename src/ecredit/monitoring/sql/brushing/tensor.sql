-- The (window, account, shop, day) tensor. A window is window_days consecutive local days starting every
-- step_days; each cell falls into window_days / step_days overlapping windows, so any ring whose activity
-- lasts at most window_days - step_days + 1 days lies whole inside one. Partition p = platform and window:
-- D-Cube runs in every partition at once. An account with a single cell in a window cannot act in lockstep
-- there (score.sql asks for min_cells_per_account) and is left out of that window: on a real platform most
-- accounts order once in three weeks, so this keeps the search to the accounts that could form a ring. Likewise
-- a shop that fewer than min_shop_accounts of those accounts bought from in the window cannot hold a ring there.
-- p = the platform's number * $stride + the window's number (brushing_platforms).
WITH windowed AS (
    SELECT
        pl.pi * $stride + CAST(floor(c.t / $step_days) AS BIGINT) - k.k AS p,
        c.a,
        c.s,
        c.t,
        c.m
    FROM brushing_cells AS c
    JOIN brushing_platforms AS pl ON pl.platform = c.platform
    CROSS JOIN brushing_offsets AS k
),
active AS (
    SELECT w.p, w.a, w.s, w.t, w.m
    FROM windowed AS w
    JOIN (
        SELECT p, a FROM windowed GROUP BY p, a HAVING count(*) >= $min_account_cells
    ) AS keep ON keep.p = w.p AND keep.a = w.a
)
SELECT x.p, x.a, x.s, x.t, x.m
FROM active AS x
JOIN (
    SELECT p, s FROM active GROUP BY p, s HAVING count(DISTINCT a) >= $min_shop_accounts
) AS keep ON keep.p = x.p AND keep.s = x.s
