-- Step: one pass over the parcel scans per parcel, then per carrier (USCC), shared by the logistics
-- indicators: parcels; end_scans, end_scans_named: the parcels' pick-up and signing (one each at most per
-- parcel), and those naming a courier; signed, complete: signed parcels, and those with pick-up, transit and
-- out-for-delivery scans too; anomalous: parcels with an exception scan or named in an empty-parcel warning
-- that is not dismissed.
-- The scans are read from parcel_scans_all (every stored version), not the de-duplicated view: a scan's record
-- key is (platform, parcel_id, scan_at, status), and every aggregate below is a max over the parcel's scans of
-- a flag of its status (and whether a courier is named), so a re-sent scan only repeats a fact already there.
-- That saves de-duplicating every scan of the province (a window over 51.7 M rows on medium), as the
-- empty-parcel detector does (monitoring/sql/parcels/empty.sql).
WITH tracks AS (
    SELECT
        platform,
        parcel_id,
        max(CASE WHEN status = 'picked_up' THEN 1 ELSE 0 END) AS picked_up,
        max(CASE WHEN status = 'in_transit' THEN 1 ELSE 0 END) AS in_transit,
        max(CASE WHEN status = 'out_for_delivery' THEN 1 ELSE 0 END) AS out_for_delivery,
        max(CASE WHEN status = 'signed' THEN 1 ELSE 0 END) AS signed,
        max(CASE WHEN status = 'exception' THEN 1 ELSE 0 END) AS exception,
        max(CASE WHEN status = 'picked_up' AND coalesce(courier_id, '') <> '' THEN 1 ELSE 0 END) AS picked_up_named,
        max(CASE WHEN status = 'signed' AND coalesce(courier_id, '') <> '' THEN 1 ELSE 0 END) AS signed_named
    FROM parcel_scans_all
    WHERE scan_at <= $as_of_ts
    GROUP BY platform, parcel_id
)
SELECT
    p.carrier_uscc,
    count(*) AS parcels,
    CAST(sum(coalesce(t.picked_up, 0) + coalesce(t.signed, 0)) AS BIGINT) AS end_scans,
    CAST(sum(coalesce(t.picked_up_named, 0) + coalesce(t.signed_named, 0)) AS BIGINT) AS end_scans_named,
    CAST(sum(CASE WHEN t.signed = 1 THEN 1 ELSE 0 END) AS BIGINT) AS signed,
    CAST(
        sum(CASE WHEN t.signed = 1 AND t.picked_up + t.in_transit + t.out_for_delivery = 3 THEN 1 ELSE 0 END)
        AS BIGINT
    ) AS complete,
    CAST(sum(CASE WHEN t.exception = 1 OR f.parcel_id IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS anomalous
FROM parcels AS p
LEFT JOIN tracks AS t ON t.platform = p.platform AND t.parcel_id = p.parcel_id
LEFT JOIN store_flagged_parcels AS f ON f.platform = p.platform AND f.parcel_id = p.parcel_id
WHERE p.created_at <= $as_of_ts
GROUP BY p.carrier_uscc
