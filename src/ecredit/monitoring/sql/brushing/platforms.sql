-- Each platform's total mass and the number of days it spans, and its number pi (partitions are numbered
-- pi * $stride + window: integer keys make every D-Cube step cheaper than text ones).
SELECT platform, row_number() OVER (ORDER BY platform) AS pi, mass, days
FROM (
    SELECT platform, sum(m) AS mass, CAST(max(t) - min(t) + 1 AS DOUBLE) AS days
    FROM brushing_cells
    GROUP BY platform
) AS x
