-- Each platform that has orders, numbered (pi): partitions are numbered pi * $stride + window, and every later
-- step keys accounts and shops by (pi, key64(id)). (The days each spans come from the orders' days, days.sql.)
SELECT platform, row_number() OVER (ORDER BY platform) AS pi
FROM (SELECT DISTINCT platform FROM orders WHERE status <> 'cancelled') AS x
