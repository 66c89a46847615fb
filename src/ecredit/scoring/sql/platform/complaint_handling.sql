-- Complaint handling on time: the complaints module's snapshot (``store_complaint_handling``: entity_key,
-- handled, on_time); empty until that module exists, so every platform gets the neutral value.
SELECT entity_key, CAST(on_time AS DOUBLE) / handled AS raw, handled AS n
FROM store_complaint_handling
WHERE handled > 0
