-- The platforms' own ids behind the keys of the accepted blocks' accounts and shops (brushing_found), from
-- their orders (brushing_member_orders). A key maps to one id unless two ids of one platform share a key (about
-- n^2 / 2^64 for n ids); the detector checks.
SELECT DISTINCT 'a' AS mode, o.pi, o.a AS k, o.buyer_id AS ref
FROM brushing_member_orders AS o
JOIN (SELECT DISTINCT pi, a FROM brushing_found) AS f ON f.pi = o.pi AND f.a = o.a
UNION ALL
SELECT DISTINCT 's' AS mode, o.pi, o.s AS k, o.shop_id AS ref
FROM brushing_member_orders AS o
JOIN (SELECT DISTINCT pi, s FROM brushing_found) AS f ON f.pi = o.pi AND f.s = o.s
