-- Step: one pass over the parcel scans per parcel, then per carrier (USCC), shared by the logistics
-- indicators: parcels; end_scans, end_scans_named: the parcels' pick-up and signing (one each at most per
-- parcel), and those naming a courier; signed, complete: signed parcels, and those with pick-up, transit and
-- out-for-delivery scans too; anomalous: parcels with an exception scan or named in an empty-parcel warning
-- that is not dismissed.
-- The scans are read from parcel_scans_all (every stored version), not the de-duplicated view: a scan's record
-- key is (platform, parcel_id, scan_at, status), and the one aggregate below is a bitwise OR over the parcel's
-- scans of a bit per status (1 picked up, 2 in transit, 4 out for delivery, 8 signed, 16 exception; 32 and 64:
-- a pick-up or signing scan naming a courier), so a re-sent scan only repeats a bit already set. That saves
-- de-duplicating every scan of the province (a window over 51.7 M rows on medium), as the empty-parcel
-- detector does (monitoring/sql/parcels/empty.sql); one bit mask instead of seven flags halves the pass.
WITH tracks AS (
    SELECT
        platform,
        parcel_id,
        bit_or(
            CASE status
                WHEN 'picked_up' THEN 1
                WHEN 'in_transit' THEN 2
                WHEN 'out_for_delivery' THEN 4
                WHEN 'signed' THEN 8
                WHEN 'exception' THEN 16
                ELSE 0
            END
            + CASE
                WHEN coalesce(courier_id, '') = '' THEN 0
                WHEN status = 'picked_up' THEN 32
                WHEN status = 'signed' THEN 64
                ELSE 0
            END
        ) AS seen
    FROM parcel_scans_all
    WHERE scan_at <= $as_of_ts
    GROUP BY platform, parcel_id
),
flags AS (
    SELECT
        platform,
        parcel_id,
        CASE WHEN seen & 1 > 0 THEN 1 ELSE 0 END AS picked_up,
        CASE WHEN seen & 8 > 0 THEN 1 ELSE 0 END AS signed,
        CASE WHEN seen & 15 = 15 THEN 1 ELSE 0 END AS complete,
        CASE WHEN seen & 16 > 0 THEN 1 ELSE 0 END AS exception,
        CASE WHEN seen & 32 > 0 THEN 1 ELSE 0 END AS picked_up_named,
        CASE WHEN seen & 64 > 0 THEN 1 ELSE 0 END AS signed_named
    FROM tracks
)
SELECT
    p.carrier_uscc,
    count(*) AS parcels,
    CAST(sum(coalesce(t.picked_up, 0) + coalesce(t.signed, 0)) AS BIGINT) AS end_scans,
    CAST(sum(coalesce(t.picked_up_named, 0) + coalesce(t.signed_named, 0)) AS BIGINT) AS end_scans_named,
    CAST(sum(coalesce(t.signed, 0)) AS BIGINT) AS signed,
    CAST(sum(coalesce(t.complete, 0)) AS BIGINT) AS complete,
    CAST(sum(CASE WHEN t.exception = 1 OR f.parcel_id IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS anomalous
FROM parcels AS p
LEFT JOIN flags AS t ON t.platform = p.platform AND t.parcel_id = p.parcel_id
LEFT JOIN store_flagged_parcels AS f ON f.platform = p.platform AND f.parcel_id = p.parcel_id
WHERE p.created_at <= $as_of_ts
GROUP BY p.carrier_uscc
