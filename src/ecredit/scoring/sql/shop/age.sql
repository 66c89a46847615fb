-- Years in operation: from the shop's opening date to the evaluation date (shops with no opening date have none).
SELECT entity_key, greatest(0.0, date_diff('day', opened_date, $as_of) / 365.25) AS raw, 1 AS n
FROM store_shops
WHERE opened_date IS NOT NULL
