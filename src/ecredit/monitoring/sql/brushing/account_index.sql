-- Buyer accounts that ordered anything, numbered (integer keys make every later step cheaper).
SELECT platform, buyer_id, row_number() OVER (ORDER BY platform, buyer_id) AS a
FROM (SELECT DISTINCT platform, buyer_id FROM brushing_orders) AS x
