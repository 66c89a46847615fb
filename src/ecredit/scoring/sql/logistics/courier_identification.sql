-- Courier identification: of the pick-up and signing scans of the company's parcels, the share naming a
-- courier (step carrier_tracks).
SELECT l.entity_key, CAST(t.end_scans_named AS DOUBLE) / t.end_scans AS raw, t.end_scans AS n
FROM carrier_tracks AS t
JOIN store_logistics AS l ON l.uscc = t.carrier_uscc
WHERE t.end_scans > 0
