-- Commitments kept, awards, licences and red-list entries: the number of the subject's positive credit records
-- that are active or expired, decided on or before the evaluation date.
SELECT p.entity_key, CAST(count(*) AS DOUBLE) AS raw, count(*) AS n
FROM population AS p
JOIN store_records AS r ON r.subject_id = p.subject_id
WHERE r.effect = 'positive' AND r.decided_on <= $as_of
GROUP BY p.entity_key
