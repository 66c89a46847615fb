-- Shops that sold anything, numbered, with FRAUDAR's camouflage-resistant column weight (Hooi et al., KDD 2016):
-- an order to a shop with many distinct buyers counts 1 / ln(buyers + c), so popular shops (where ring accounts
-- place camouflage orders) add little mass to any block.
SELECT
    platform,
    shop_id,
    row_number() OVER (ORDER BY platform, shop_id) AS s,
    count(DISTINCT buyer_id) AS buyers,
    1.0 / ln(count(DISTINCT buyer_id) + $weight_c) AS w
FROM brushing_orders

GROUP BY platform, shop_id
