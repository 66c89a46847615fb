-- Hard override: a serious black-list entry (a credit record of kind list_entry whose details say colour black
-- and serious) forces the lowest grade and class D.
SELECT DISTINCT p.entity_key
FROM population AS p
JOIN store_records AS r ON r.subject_id = p.subject_id
WHERE r.kind = 'list_entry' AND r.list_colour = 'black' AND r.list_serious AND r.decided_on <= $as_of
