-- The evaluated platforms: the platform operators' subjects (a store snapshot, ``store_platforms``).
SELECT entity_key, subject_id FROM store_platforms
