-- The evaluated logistics companies: subjects of kind logistics_company (a store snapshot, ``store_logistics``).
SELECT entity_key, subject_id FROM store_logistics
