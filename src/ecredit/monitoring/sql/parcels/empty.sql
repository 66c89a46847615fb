-- Empty parcels (空包): a parcel that carries nothing weighs almost nothing and is never really carried — its
-- track goes from pick-up to signed with no transit scan, or faster than any carrier could cover the distance
-- between two prefectures. A parcel is suspicious when at least $min_signals of the three signals hold and it
-- was signed (a parcel still moving is judged later).
-- The scans are read from parcel_scans_all (every stored version), not the de-duplicated view: a scan's record key
-- is (platform, parcel_id, scan_at, status), the only columns read here, so both hold the same (parcel, time,
-- status) facts and the earliest pick-up, the earliest sign-off and whether any transit scan exists come out the
-- same; a re-sent scan only repeats one. That saves de-duplicating every scan of the province (a window over 51.7 M
-- rows on medium) for three aggregates.
WITH scans AS (
    SELECT
        platform,
        parcel_id,
        min(CASE WHEN status = 'picked_up' THEN scan_at END) AS picked_up_at,
        min(CASE WHEN status = 'signed' THEN scan_at END) AS signed_at,
        CAST(max(CASE WHEN status IN ('in_transit', 'out_for_delivery') THEN 1 ELSE 0 END) AS BIGINT) AS transit
    FROM parcel_scans_all
    GROUP BY platform, parcel_id
),
signals AS (
    SELECT
        p.platform,
        p.parcel_id,
        p.order_id,
        o.shop_id,
        o.buyer_id,
        p.weight_grams,
        p.ship_from_region,
        p.ship_to_region,
        s.picked_up_at,
        s.signed_at,
        date_diff('second', s.picked_up_at, s.signed_at) / 3600.0 AS hours_to_sign,
        (p.weight_grams <= $max_weight_grams) AS light,
        (s.transit = 0) AS no_transit,
        (substr(p.ship_from_region, 1, 4) <> substr(p.ship_to_region, 1, 4)
            AND date_diff('second', s.picked_up_at, s.signed_at) < $min_intercity_hours * 3600) AS too_fast
    FROM parcels AS p
    JOIN scans AS s ON s.platform = p.platform AND s.parcel_id = p.parcel_id
    LEFT JOIN orders AS o ON o.platform = p.platform AND o.order_id = p.order_id
    WHERE s.signed_at IS NOT NULL AND s.picked_up_at IS NOT NULL
)
SELECT
    *,
    CAST(light AS INTEGER) + CAST(no_transit AS INTEGER) + CAST(coalesce(too_fast, FALSE) AS INTEGER) AS signal_count
FROM signals
WHERE CAST(light AS INTEGER) + CAST(no_transit AS INTEGER) + CAST(coalesce(too_fast, FALSE) AS INTEGER) >= $min_signals
