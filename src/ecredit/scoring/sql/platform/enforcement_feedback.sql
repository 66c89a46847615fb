-- Enforcement feedback on time: the lists module's snapshot of enforcement orders sent to the platform
-- (``store_enforcement``: entity_key, orders, on_time); with no order yet every platform gets the neutral value.
SELECT entity_key, CAST(on_time AS DOUBLE) / orders AS raw, orders AS n
FROM store_enforcement
WHERE orders > 0
