-- The evaluated shops: every shop of the registry (a store snapshot, ``store_shops``).
SELECT entity_key, subject_id FROM store_shops
