-- Complaints per order: the complaints module's snapshot (``store_complaints``: entity_key, complaints, orders);
-- empty until that module exists, so every shop gets the neutral value.
SELECT entity_key, CAST(complaints AS DOUBLE) / orders AS raw, orders AS n
FROM store_complaints
WHERE orders > 0
