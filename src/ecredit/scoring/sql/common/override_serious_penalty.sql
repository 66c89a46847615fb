-- Hard override: an active (or expired) serious negative record caps the score.
SELECT DISTINCT p.entity_key
FROM population AS p
JOIN store_records AS r ON r.subject_id = p.subject_id
WHERE r.effect = 'negative' AND r.severity = 'serious' AND r.decided_on <= $as_of
