-- Credit points (信用积分) of sellers from buyers' ratings. Each initial review is a rating worth $p1..$p5
-- points; one buyer-seller pair counts at most $pair_cap points (and at least -$pair_cap) per period of
-- $period_days local days, so repeated ratings from one account add almost nothing; ratings of accounts in
-- ``voided_accounts`` (confirmed brushing rings; detected extortion reviewers) count nothing, and with
-- $void_fake_reviews neither does a rating that is a review named in a fake-review warning not dismissed
-- (``store_flagged_reviews``). voided_ratings counts both; capped_points what the cap took away. A shop named
-- as a party in confirmed brushing-ring warnings loses $brushing_deduction points per warning
-- (deducted_points).
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
        CASE WHEN v.account_id IS NULL THEN 0 ELSE 1 END AS voided,
        CASE WHEN $void_fake_reviews AND f.review_id IS NOT NULL THEN 1 ELSE 0 END AS fake
    FROM reviews AS r
    LEFT JOIN (SELECT DISTINCT platform, account_id FROM voided_accounts) AS v
        ON v.platform = r.platform AND v.account_id = r.buyer_id
    LEFT JOIN (SELECT DISTINCT platform, review_id FROM store_flagged_reviews) AS f
        ON f.platform = r.platform AND f.review_id = r.review_id
    WHERE r.kind = 'initial' AND r.reviewed_at <= $as_of_ts
),
pairs AS (
    SELECT
        platform,
        shop_id,
        buyer_id,
        period,
        count(*) AS ratings,
        sum(CASE WHEN fake = 1 THEN 0 ELSE value END) AS raw_points,
        sum(fake) AS fake_ratings,
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
        fake_ratings,
        voided,
        CASE WHEN voided = 1 THEN 0 ELSE greatest(-$pair_cap, least($pair_cap, raw_points)) END AS points
    FROM pairs
),
deductions AS (
    SELECT platform, shop_ref, CAST(count(*) * $brushing_deduction AS BIGINT) AS deducted
    FROM store_warning_shops
    WHERE kind = 'brushing_ring' AND status = 'confirmed'
    GROUP BY platform, shop_ref
),
earned AS (
    SELECT
        s.entity_key,
        c.platform,
        c.shop_id AS party_ref,
        CAST(sum(c.points) AS BIGINT) AS points,
        CAST(sum(c.ratings) AS BIGINT) AS ratings,
        CAST(sum(CASE WHEN c.voided = 1 THEN c.ratings ELSE c.fake_ratings END) AS BIGINT) AS voided_ratings,
        CAST(
            sum(CASE WHEN c.voided = 1 THEN 0 ELSE abs(c.raw_points) - abs(c.points) END) AS BIGINT
        ) AS capped_points
    FROM capped AS c
    JOIN store_shops AS s ON s.platform = c.platform AND s.platform_shop_id = c.shop_id
    GROUP BY s.entity_key, c.platform, c.shop_id
)
SELECT
    e.entity_key,
    e.platform,
    e.party_ref,
    e.points - coalesce(d.deducted, 0) AS points,
    e.ratings,
    e.voided_ratings,
    e.capped_points,
    coalesce(d.deducted, 0) AS deducted_points
FROM earned AS e
LEFT JOIN deductions AS d ON d.platform = e.platform AND d.shop_ref = e.party_ref
