-- Scan completeness: of the company's signed parcels, the share with pick-up, transit, out-for-delivery and
-- signing scans (step carrier_tracks).
SELECT l.entity_key, CAST(t.complete AS DOUBLE) / t.signed AS raw, t.signed AS n
FROM carrier_tracks AS t
JOIN store_logistics AS l ON l.uscc = t.carrier_uscc
WHERE t.signed > 0
