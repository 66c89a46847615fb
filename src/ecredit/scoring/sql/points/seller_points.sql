-- Credit points (信用积分) of sellers from buyers' ratings. Each initial review is a rating worth $p1..$p5
-- points; one buyer-seller pair counts at most $pair_cap points (and at least -$pair_cap) per period of
-- $period_days local days, so repeated ratings from one account add almost nothing; ratings of accounts in
-- ``voided_accounts`` (confirmed brushing rings; detected extortion reviewers) count nothing.
WITH rated AS (
    SELECT
        r.platform,
        r.shop_id,
        r.buyer_id,
        CAST(
            floor(
                (date_diff('second', TIMESTAMPTZ '1970-01-01 00:00:00+00', r.reviewed_at) + $utc_offset_s)
                / 86400.0 / $period_days
            ) AS BIGINT
        ) AS period,
        CASE r.rating WHEN 1 THEN $p1 WHEN 2 THEN $p2 WHEN 3 THEN $p3 WHEN 4 THEN $p4 ELSE $p5 END AS value,
        CASE WHEN v.account_id IS NULL THEN 0 ELSE 1 END AS voided
    FROM reviews AS r
    LEFT JOIN (SELECT DISTINCT platform, account_id FROM voided_accounts) AS v
        ON v.platform = r.platform AND v.account_id = r.buyer_id
    WHERE r.kind = 'initial' AND r.reviewed_at <= $as_of_ts
),
pairs AS (
    SELECT
        platform,
        shop_id,
        buyer_id,
        period,
        count(*) AS ratings,
        sum(value) AS raw_points,
        max(voided) AS voided
    FROM rated
    GROUP BY platform, shop_id, buyer_id, period
),
capped AS (
    SELECT
        platform,
        shop_id,
        ratings,
        raw_points,
        voided,
        CASE WHEN voided = 1 THEN 0 ELSE greatest(-$pair_cap, least($pair_cap, raw_points)) END AS points
    FROM pairs
)
SELECT
    s.entity_key,
    c.platform,
    c.shop_id AS party_ref,
    CAST(sum(c.points) AS BIGINT) AS points,
    CAST(sum(c.ratings) AS BIGINT) AS ratings,
    CAST(sum(CASE WHEN c.voided = 1 THEN c.ratings ELSE 0 END) AS BIGINT) AS voided_ratings,
    CAST(sum(CASE WHEN c.voided = 1 THEN 0 ELSE abs(c.raw_points) - abs(c.points) END) AS BIGINT) AS capped_points
FROM capped AS c
JOIN store_shops AS s ON s.platform = c.platform AND s.platform_shop_id = c.shop_id
GROUP BY s.entity_key, c.platform, c.shop_id
