-- D-Cube's bulk removal: in each partition, the mode whose light slices (mass at most the average) leave the
-- densest block is chosen; those slices are removed in ascending order of mass, and each prefix is a candidate
-- block (rank = how many were removed). Density is the arithmetic average mass per slice over the three modes.
WITH st AS (
    SELECT p, mode, count(*) AS n, sum(mass) AS mm, avg(mass) AS av
    FROM brushing_sl
    GROUP BY p, mode
),
md AS (
    SELECT st.p, st.mode, st.av, z.mass, z.size
    FROM st
    JOIN (SELECT p, max(mm) AS mass, CAST(sum(n) AS BIGINT) AS size FROM st GROUP BY p) AS z ON z.p = st.p
),
light AS (
    SELECT sl.p, sl.mode, sl.k, sl.mass, md.mass AS total, md.size
    FROM brushing_sl AS sl
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
