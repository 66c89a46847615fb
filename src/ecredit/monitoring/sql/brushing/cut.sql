-- One D-Cube pass (Shin et al., WSDM 2017) in one statement: the mass of every slice of the current block
-- (brushing_b), all modes in one scan; then bulk removal: in each partition, the mode whose light slices (mass
-- at most the average) leave the densest block is chosen; those slices are removed in ascending order of mass,
-- and each prefix is a candidate block (rank = how many were removed). Density is the arithmetic average mass
-- per slice over the three modes.
WITH sl AS (
    SELECT
        p,
        CASE WHEN grouping(a) = 0 THEN 'a' WHEN grouping(s) = 0 THEN 's' ELSE 't' END AS mode,
        coalesce(a, s, t) AS k,
        sum(m) AS mass
    FROM brushing_b
    GROUP BY GROUPING SETS ((p, a), (p, s), (p, t))
),
st AS (
    SELECT p, mode, count(*) AS n, sum(mass) AS mm, avg(mass) AS av
    FROM sl
    GROUP BY p, mode
),
md AS (
    SELECT st.p, st.mode, st.av, z.mass, z.size
    FROM st
    JOIN (SELECT p, max(mm) AS mass, CAST(sum(n) AS BIGINT) AS size FROM st GROUP BY p) AS z ON z.p = st.p
),
light AS (
    SELECT sl.p, sl.mode, sl.k, sl.mass, md.mass AS total, md.size
    FROM sl
    JOIN md ON md.p = sl.p AND md.mode = sl.mode
    WHERE sl.mass <= md.av
),
choice AS (
    SELECT p, mode
    FROM (
        SELECT
            p,
            mode,
            row_number() OVER (
                PARTITION BY p ORDER BY (max(total) - sum(mass)) / greatest(max(size) - count(*), 1) DESC, mode
            ) AS pick
        FROM light
        GROUP BY p, mode
    ) AS x
    WHERE pick = 1
)
SELECT
    l.p,
    l.mode,
    l.k,
    $iteration AS it,
    row_number() OVER (PARTITION BY l.p ORDER BY l.mass, l.k) AS rnk,
    sum(l.mass) OVER (PARTITION BY l.p ORDER BY l.mass, l.k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS removed_mass,
    l.total,
    l.size
FROM light AS l
JOIN choice AS c ON c.p = l.p AND c.mode = l.mode
