-- Physically impossible parcel tracks (real-time check at intake): a batch's scans with the lake's committed
-- scans of the same parcels. A leg is two consecutive scans of a parcel (in scan time); it is too fast when
-- its straight-line distance between prefecture centroids, less $slack_km, needs more than $max_speed_kmh.
-- A scan before pick-up is any other scan more than $before_pickup_minutes earlier than the parcel's first
-- pick-up scan. Only findings that involve a scan of the batch are kept (earlier batches were checked then).
-- Tables: batch_scans, earlier_scans (parcel_id, scan_at, status, region_code), prefectures (code, lat, lon).
WITH scans AS (
    SELECT parcel_id, scan_at, status, region_code, is_new
    FROM (
        SELECT parcel_id, scan_at, status, region_code, TRUE AS is_new FROM batch_scans
        UNION ALL
        SELECT parcel_id, scan_at, status, region_code, FALSE AS is_new FROM earlier_scans
    ) AS all_scans
    QUALIFY row_number() OVER (PARTITION BY parcel_id, scan_at, status ORDER BY is_new DESC) = 1
),
timeline AS (
    SELECT
        parcel_id,
        scan_at,
        status,
        region_code,
        is_new,
        min(CASE WHEN status = 'picked_up' THEN scan_at END) OVER (PARTITION BY parcel_id) AS picked_up_at,
        max(CASE WHEN status = 'picked_up' AND is_new THEN 1 ELSE 0 END) OVER (PARTITION BY parcel_id) AS pickup_is_new,
        lag(scan_at) OVER (PARTITION BY parcel_id ORDER BY scan_at, status) AS prev_at,
        lag(region_code) OVER (PARTITION BY parcel_id ORDER BY scan_at, status) AS prev_region,
        lag(is_new) OVER (PARTITION BY parcel_id ORDER BY scan_at, status) AS prev_is_new
    FROM scans
),
legs AS (
    SELECT
        t.*,
        2 * 6371.0 * asin(sqrt(
            power(sin(radians(b.lat - a.lat) / 2), 2)
            + cos(radians(a.lat)) * cos(radians(b.lat)) * power(sin(radians(b.lon - a.lon) / 2), 2)
        )) AS km,
        date_diff('second', t.prev_at, t.scan_at) / 3600.0 AS hours
    FROM timeline AS t
    LEFT JOIN prefectures AS a ON a.code = concat(substr(t.prev_region, 1, 4), '00')
    LEFT JOIN prefectures AS b ON b.code = concat(substr(t.region_code, 1, 4), '00')
)
SELECT
    parcel_id,
    scan_at,
    status,
    region_code,
    prev_at,
    prev_region,
    picked_up_at,
    km,
    hours,
    (status <> 'picked_up' AND date_diff('second', scan_at, picked_up_at) > $before_pickup_minutes * 60
        AND (is_new OR pickup_is_new = 1)) AS before_pickup,
    (coalesce(km - $slack_km > $max_speed_kmh * hours, FALSE) AND (is_new OR prev_is_new)) AS too_fast
FROM legs
WHERE
    (status <> 'picked_up' AND date_diff('second', scan_at, picked_up_at) > $before_pickup_minutes * 60
        AND (is_new OR pickup_is_new = 1))
    OR (coalesce(km - $slack_km > $max_speed_kmh * hours, FALSE) AND (is_new OR prev_is_new))
ORDER BY parcel_id, scan_at, status
