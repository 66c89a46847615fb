-- Each platform's total mass and the number of days it spans.
SELECT platform, sum(m) AS mass, CAST(max(t) - min(t) + 1 AS DOUBLE) AS days
FROM brushing_cells
GROUP BY platform
