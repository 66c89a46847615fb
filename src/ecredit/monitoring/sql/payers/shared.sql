-- One payer behind many buyer accounts (代付, bought identities, a ring's organiser): payments grouped by the
-- payer's blind index (the vault's keyed hash: the clear payer reference is never read), with the accounts whose
-- orders it paid. Also the devices those accounts share, as evidence.
WITH paid AS (
    SELECT p.platform, p.payer_ref_bidx, p.payment_id, o.buyer_id, o.shop_id
    FROM payments AS p
    JOIN orders AS o ON o.platform = p.platform AND o.order_id = p.order_id
    WHERE p.payer_ref_bidx IS NOT NULL
),
payers AS (
    SELECT platform, payer_ref_bidx, count(DISTINCT buyer_id) AS accounts, count(*) AS payments,
        count(DISTINCT shop_id) AS shops
    FROM paid
    GROUP BY platform, payer_ref_bidx
    HAVING count(DISTINCT buyer_id) >= $min_accounts
)
SELECT
    y.platform,
    y.payer_ref_bidx,
    y.accounts,
    y.payments,
    y.shops,
    d.buyer_id,
    d.payment_id,
    a.device_id
FROM payers AS y
JOIN paid AS d ON d.platform = y.platform AND d.payer_ref_bidx = y.payer_ref_bidx
LEFT JOIN accounts AS a ON a.platform = d.platform AND a.account_id = d.buyer_id
