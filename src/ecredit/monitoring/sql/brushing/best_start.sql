-- Before any removal, the best block of a partition is the whole partition.
SELECT p, mass * 3.0 / (na + ns + nt) AS density, 0 AS it, 0 AS rnk
FROM brushing_tot
