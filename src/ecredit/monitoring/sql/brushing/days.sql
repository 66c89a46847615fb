-- The number of local days each platform's orders span: the background model spreads activity over them
-- (score.sql).
SELECT pi, CAST(max(t) - min(t) + 1 AS DOUBLE) AS days FROM brushing_o GROUP BY pi
