-- One indicator's contribution for every evaluated entity: the raw value ($default_raw when the indicator's SQL
-- gave no row for the entity: 0 for counts, NULL for rates; NULL with fewer than $min_count observations), normalised to [0, 1] with 1 the best (linear between $low and $high, or
-- logistic around $mid with $scale; then the direction), the neutral value for missing data, and the points
-- (weight x normalised).
WITH raw_values AS (
    SELECT
        p.entity_key,
        CASE
            WHEN i.entity_key IS NULL THEN CAST($default_raw AS DOUBLE)
            WHEN i.n >= $min_count THEN CAST(i.raw AS DOUBLE)
        END AS raw,
        CAST(coalesce(i.n, 0) AS BIGINT) AS n
    FROM population AS p
    LEFT JOIN indicator_raw AS i ON i.entity_key = p.entity_key
),
scaled AS (
    SELECT
        entity_key,
        raw,
        n,
        CASE
            WHEN raw IS NULL THEN NULL
            WHEN $kind = 'linear' THEN least(1.0, greatest(0.0, (raw - $low) / ($high - $low)))
            ELSE 1.0 / (1.0 + exp(-(raw - $mid) / $scale))
        END AS x
    FROM raw_values
)
SELECT
    entity_key,
    $indicator AS indicator,
    raw,
    n,
    CASE WHEN x IS NULL THEN $neutral WHEN $higher_better THEN x ELSE 1.0 - x END AS normalised,
    $weight AS weight,
    $weight * CASE WHEN x IS NULL THEN $neutral WHEN $higher_better THEN x ELSE 1.0 - x END AS points
FROM scaled
