-- Verification coverage: the share of the platform's open shops verified and current on the evaluation date.
SELECT
    p.entity_key,
    avg(CASE WHEN s.verification_status = 'verified' AND s.verified_until >= $as_of_ts THEN 1.0 ELSE 0.0 END) AS raw,
    count(*) AS n
FROM store_platforms AS p
JOIN store_shops AS s ON s.platform = p.platform
WHERE s.status = 'open'
GROUP BY p.entity_key
