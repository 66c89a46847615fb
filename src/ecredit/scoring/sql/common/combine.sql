-- The score of every evaluated entity: 1000 x the sum of its points over the sum of its weights, capped by
-- the strongest hard override; the grade (GB/T 22116) and the risk class (国市监信发〔2022〕6号) from their bands;
-- a class forced by an override wins when it is worse (classes sort A < B < C < D).
WITH totals AS (
    SELECT entity_key, sum(points) AS points, sum(weight) AS weight
    FROM contributions
    GROUP BY entity_key
),
strongest AS (
    SELECT entity_key, override, score_max, risk_class
    FROM (
        SELECT
            entity_key,
            override,
            score_max,
            risk_class,
            row_number() OVER (PARTITION BY entity_key ORDER BY score_max, override) AS rank_
        FROM overrides
    ) AS ranked
    WHERE rank_ = 1
),
scored AS (
    SELECT
        t.entity_key,
        CAST(round(1000.0 * t.points / t.weight) AS BIGINT) AS base_score,
        s.override,
        s.score_max,
        s.risk_class AS forced_class
    FROM totals AS t
    LEFT JOIN strongest AS s ON s.entity_key = t.entity_key
),
capped AS (
    SELECT
        entity_key,
        base_score,
        CASE WHEN score_max IS NOT NULL AND score_max < base_score THEN score_max ELSE base_score END AS score,
        override,
        forced_class
    FROM scored
)
SELECT
    c.entity_key,
    c.base_score,
    c.score,
    g.grade,
    CASE
        WHEN c.forced_class IS NOT NULL AND c.forced_class > k.risk_class THEN c.forced_class
        ELSE k.risk_class
    END AS risk_class,
    c.override
FROM capped AS c
JOIN grade_bands AS g ON c.score >= g.low AND c.score < g.high
JOIN class_bands AS k ON c.score >= k.low AND c.score < k.high
