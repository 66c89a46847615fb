-- What each account and each shop weighs over the whole period, and each platform's mass and number of days:
-- the background every block is compared with (score.sql).
SELECT 'a' AS mode, a AS k, sum(m) AS mass FROM brushing_cells GROUP BY a
UNION ALL
SELECT 's' AS mode, s AS k, sum(m) AS mass FROM brushing_cells GROUP BY s
