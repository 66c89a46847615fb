-- One D-Cube pass (Shin et al., WSDM 2017) in one statement, on the current block (brushing_b), with what the
-- earlier passes found (brushing_prev: the previous pass's cut, its `best` column the densest block seen).
--
-- 1. The mass of every slice, all modes (one scan each).
-- 2. Bulk removal: in each partition, the mode whose light slices (mass at most the mode's average) leave the
--    densest block is chosen; those slices are removed in ascending order of mass, and each prefix that ends a
--    run of equal masses is a candidate block (rnk = how many slices it removed; equal masses go together, so
--    no tie is broken by a key, and the ranks are computed over the runs, not the slices). Density is the
--    arithmetic average mass per slice over the three modes. The removed slices lighter than the block's mass
--    per slice M / N are one run (base): while they go the density only rises, so only their last prefix
--    can be the densest, and only the heavier removed slices are sorted.
-- 3. Pruning, exact: the densest block that is left has every slice heavier than a third of its density
--    (removing a slice of mass x from a block of mass M and N slices raises its density M / (N / 3) when
--    x < M / N). So, with `best` the densest block seen so far, no slice lighter than best / 3 here can belong
--    to a denser block: those are removed too (rnk NULL, kept FALSE: after this pass's candidates). Likewise a
--    block denser than best needs 3 / (1 / max_a + 1 / max_s + 1 / max_t) > best, with max_x the heaviest slice
--    of each mode here (its mass M is at most |A| max_a, |S| max_s and |T| max_t): a partition where that fails
--    is finished (a row of mode 'p').
-- Every other slice of the block is listed too (kept TRUE): with the removed ones, a pass lists every slice of
-- its block, so the slices of any candidate block are known without reading the tensor again (block.sql).
WITH sl AS (
    SELECT p, 'a' AS mode, a AS k, sum(m) AS mass FROM brushing_b GROUP BY p, a
    UNION ALL
    SELECT p, 's' AS mode, s AS k, sum(m) AS mass FROM brushing_b GROUP BY p, s
    UNION ALL
    SELECT p, 't' AS mode, t AS k, sum(m) AS mass FROM brushing_b GROUP BY p, t
),
st AS (
    SELECT p, mode, count(*) AS slices, sum(mass) AS mm, avg(mass) AS av, max(mass) AS heaviest
    FROM sl
    GROUP BY p, mode
),
md AS (
    SELECT p, max(mm) AS mass, CAST(sum(slices) AS BIGINT) AS size, 3.0 / sum(1.0 / heaviest) AS bound
    FROM st
    GROUP BY p
),
lt AS (
    -- every slice with whether it is light in its mode (mass at most the mode's average)
    SELECT sl.p, sl.mode, sl.k, sl.mass, sl.mass <= st.av AS light
    FROM sl
    JOIN st ON st.p = sl.p AND st.mode = sl.mode
),
choice AS (
    SELECT p, mode
    FROM (
        SELECT
            lt.p,
            lt.mode,
            row_number() OVER (
                PARTITION BY lt.p
                ORDER BY (max(md.mass) - sum(lt.mass)) / greatest(max(md.size) - count(*), 1) DESC, lt.mode
            ) AS pick
        FROM lt
        JOIN md ON md.p = lt.p
        WHERE lt.light
        GROUP BY lt.p, lt.mode
    ) AS x
    WHERE pick = 1
),
marked AS (
    -- removed: the light slices of the chosen mode
    SELECT lt.p, lt.mode, lt.k, lt.mass, lt.light AND c.mode IS NOT NULL AS removed
    FROM lt
    LEFT JOIN choice AS c ON c.p = lt.p AND c.mode = lt.mode
),
removed AS (
    -- the removed slices, with whether they are lighter than the block's mass per slice M / N (base)
    SELECT x.p, x.mode, x.k, x.mass, x.mass * md.size < md.mass AS base
    FROM marked AS x
    JOIN md ON md.p = x.p
    WHERE x.removed
),
base AS (
    -- Removing a slice lighter than M / N raises the density, which starts at M / N: while those slices go,
    -- the density only rises, so of the candidates among them only the last can be the densest. They are one
    -- run (rank = how many they are), and only the heavier ones are sorted.
    SELECT p, count(*) AS slices, sum(mass) AS removed_mass FROM removed WHERE base GROUP BY p
),
runs AS (
    -- the other removed slices by runs of equal mass, in ascending order: each run's end is a candidate
    SELECT
        x.p,
        x.mass,
        coalesce(b.slices, 0)
        + sum(x.slices) OVER (PARTITION BY x.p ORDER BY x.mass ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
            AS rnk,
        coalesce(b.removed_mass, 0.0)
        + sum(x.slices * x.mass) OVER (
            PARTITION BY x.p ORDER BY x.mass ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS removed_mass
    FROM (SELECT p, mass, count(*) AS slices FROM removed WHERE NOT base GROUP BY p, mass) AS x
    LEFT JOIN base AS b ON b.p = x.p
),
candidates AS (
    SELECT p, rnk, removed_mass FROM runs
    UNION ALL
    SELECT p, slices AS rnk, removed_mass FROM base
),
top AS (
    SELECT
        md.p,
        md.mass AS total,
        md.size,
        md.bound,
        greatest(coalesce(pr.best, 0.0), md.mass * 3.0 / md.size, coalesce(here.best, 0.0)) AS best
    FROM md
    LEFT JOIN (SELECT p, max(best) AS best FROM brushing_prev GROUP BY p) AS pr ON pr.p = md.p
    LEFT JOIN (
        SELECT r.p, max((md.mass - r.removed_mass) * 3.0 / (md.size - r.rnk)) AS best
        FROM candidates AS r
        JOIN md ON md.p = r.p
        WHERE md.size > r.rnk
        GROUP BY r.p
    ) AS here ON here.p = md.p
)
SELECT
    x.p,
    x.mode,
    x.k,
    $iteration AS it,
    coalesce(r.rnk, b.slices) AS rnk,
    coalesce(r.removed_mass, b.removed_mass) AS removed_mass,
    top.total,
    top.size,
    top.best,
    FALSE AS kept
FROM removed AS x
JOIN top ON top.p = x.p
LEFT JOIN runs AS r ON NOT x.base AND r.p = x.p AND r.mass = x.mass
LEFT JOIN base AS b ON x.base AND b.p = x.p
UNION ALL
SELECT
    x.p,
    x.mode,
    x.k,
    $iteration AS it,
    NULL AS rnk,
    NULL AS removed_mass,
    NULL AS total,
    NULL AS size,
    top.best,
    x.mass * 3.0 >= top.best AS kept
FROM marked AS x
JOIN top ON top.p = x.p
WHERE NOT x.removed
UNION ALL
SELECT
    p,
    'p' AS mode,
    NULL AS k,
    $iteration AS it,
    NULL AS rnk,
    NULL AS removed_mass,
    NULL AS total,
    NULL AS size,
    best,
    FALSE AS kept
FROM top
WHERE bound <= best
