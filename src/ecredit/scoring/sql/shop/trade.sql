-- Step: one pass over the orders (and their first parcel) per shop, shared by the trading indicators.
-- paid: paid orders up to the evaluation instant; paid_net, refunded_net: the same without the orders of
-- accounts detected as extortion reviewers (their refunds are extorted, not the shop's fault); due: paid
-- orders not cancelled, paid at least $dispatch_hours before the evaluation instant; on_time: those of them
-- with a parcel created within $dispatch_hours of payment. The first parcel of an order is the earliest
-- waybill of every stored version (parcels_all): a minimum is the same over repeated versions, and that saves
-- de-duplicating every parcel of the province here (the orders, whose status changes, are de-duplicated).
WITH extortion AS (
    SELECT DISTINCT platform, account_id FROM store_flagged_accounts WHERE kind = 'extortion_reviewer'
),
first_parcel AS (
    SELECT platform, order_id, min(created_at) AS created_at FROM parcels_all GROUP BY platform, order_id
),
facts AS (
    SELECT
        o.platform,
        o.shop_id,
        CASE WHEN x.account_id IS NULL THEN 1 ELSE 0 END AS net,
        CASE WHEN o.status = 'refunded' THEN 1 ELSE 0 END AS refunded,
        CASE
            WHEN o.status <> 'cancelled' AND date_diff('second', o.paid_at, $as_of_ts) >= $dispatch_hours * 3600
                THEN 1
            ELSE 0
        END AS due,
        CASE
            WHEN f.created_at IS NOT NULL AND date_diff('second', o.paid_at, f.created_at) <= $dispatch_hours * 3600
                THEN 1
            ELSE 0
        END AS dispatched
    FROM orders AS o
    LEFT JOIN extortion AS x ON x.platform = o.platform AND x.account_id = o.buyer_id
    LEFT JOIN first_parcel AS f ON f.platform = o.platform AND f.order_id = o.order_id
    WHERE o.paid_at IS NOT NULL AND o.ordered_at <= $as_of_ts
)
SELECT
    platform,
    shop_id,
    count(*) AS paid,
    CAST(sum(net) AS BIGINT) AS paid_net,
    CAST(sum(net * refunded) AS BIGINT) AS refunded_net,
    CAST(sum(due) AS BIGINT) AS due,
    CAST(sum(due * dispatched) AS BIGINT) AS on_time
FROM facts
GROUP BY platform, shop_id
