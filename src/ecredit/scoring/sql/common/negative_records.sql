-- Penalties and dishonesty records (SB/T 11227 public credit information): the severity-weighted number of the
-- subject's negative credit records that are active or expired (never repaired or withdrawn: the snapshot
-- leaves those out), decided on or before the evaluation date.
SELECT
    p.entity_key,
    sum(
        CASE r.severity
            WHEN 'minor' THEN $w_minor
            WHEN 'general' THEN $w_general
            WHEN 'serious' THEN $w_serious
            ELSE $w_unclassified
        END
    ) AS raw,
    count(*) AS n
FROM population AS p
JOIN store_records AS r ON r.subject_id = p.subject_id
WHERE r.effect = 'negative' AND r.decided_on <= $as_of
GROUP BY p.entity_key
