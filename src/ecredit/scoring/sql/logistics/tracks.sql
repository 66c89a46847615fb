-- Step: one pass over the parcel scans per parcel, then per carrier (USCC), shared by the logistics
-- indicators: parcels; end_scans, end_scans_named: pick-up and signing scans, and those naming a courier;
-- signed, complete: signed parcels, and those with pick-up, transit and out-for-delivery scans too;
-- anomalous: parcels with an exception scan or named in an empty-parcel warning that is not dismissed.
WITH tracks AS (
    SELECT
        platform,
        parcel_id,
        max(CASE WHEN status = 'picked_up' THEN 1 ELSE 0 END) AS picked_up,
        max(CASE WHEN status = 'in_transit' THEN 1 ELSE 0 END) AS in_transit,
        max(CASE WHEN status = 'out_for_delivery' THEN 1 ELSE 0 END) AS out_for_delivery,
        max(CASE WHEN status = 'signed' THEN 1 ELSE 0 END) AS signed,
        max(CASE WHEN status = 'exception' THEN 1 ELSE 0 END) AS exception,
        sum(CASE WHEN status IN ('picked_up', 'signed') THEN 1 ELSE 0 END) AS ends,
        sum(
            CASE WHEN status IN ('picked_up', 'signed') AND coalesce(courier_id, '') <> '' THEN 1 ELSE 0 END
        ) AS ends_named
    FROM parcel_scans
    WHERE scan_at <= $as_of_ts
    GROUP BY platform, parcel_id
)
SELECT
    p.carrier_uscc,
    count(*) AS parcels,
    CAST(sum(coalesce(t.ends, 0)) AS BIGINT) AS end_scans,
    CAST(sum(coalesce(t.ends_named, 0)) AS BIGINT) AS end_scans_named,
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
