-- Parcel anomaly rate: the share of the company's parcels with an exception scan or named in an empty-parcel
-- warning that is not dismissed (step carrier_tracks).
SELECT l.entity_key, CAST(t.anomalous AS DOUBLE) / t.parcels AS raw, t.parcels AS n
FROM carrier_tracks AS t
JOIN store_logistics AS l ON l.uscc = t.carrier_uscc
