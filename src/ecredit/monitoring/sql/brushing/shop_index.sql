-- Every shop that sold anything, with its orders and FRAUDAR's camouflage-resistant column weight (Hooi et al.,
-- KDD 2016): an order to a shop with many distinct buyers counts 1 / ln(buyers + c), so popular shops (where
-- ring accounts place camouflage orders) add little mass to any block. A shop's mass over the whole period is
-- orders * w. `most` is the orders of its most frequent buyer: no account has more rows at the shop in any window
-- (tensor.sql's shop filter uses it). (Distinct pairs first, then counted: cheaper than count(DISTINCT) on
-- DuckDB.)
SELECT
    pi,
    s,
    sum(n) AS orders,
    count(*) AS buyers,
    max(n) AS most,
    1.0 / ln(count(*) + $weight_c) AS w
FROM (SELECT pi, s, a, count(*) AS n FROM brushing_o GROUP BY pi, s, a) AS pairs
GROUP BY pi, s
