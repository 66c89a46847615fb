-- The scores with the entity's subject and, for shops, the credit points and their level.
SELECT
    s.entity_key,
    p.subject_id,
    s.base_score,
    s.score,
    s.grade,
    s.risk_class,
    s.override,
    c.points,
    c.level AS points_level
FROM scores AS s
JOIN population AS p ON p.entity_key = s.entity_key
LEFT JOIN points AS c ON c.entity_key = s.entity_key
