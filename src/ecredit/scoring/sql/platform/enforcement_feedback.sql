-- Enforcement feedback on time: the platform enforcement orders of the lists (``store_enforcement``: one row
-- per order with its deadline to carry it out, ``due_on``, and once the entry left the list its deadline to
-- undo it, ``lift_due_on``, and the days the platform reported each). Every deadline that has come counts
-- once: reported by the evaluation day, or its day passed with no report (missing feedback counts as late).
-- On time: reported on or before the deadline. A deadline the calendar could not compute (null) is not
-- counted. With no deadline come yet, the platform gets the neutral value.
WITH feedback AS (
    SELECT entity_key, due_on AS due, reported_on AS reported
    FROM store_enforcement
    WHERE due_on IS NOT NULL
    UNION ALL
    SELECT entity_key, lift_due_on AS due, lift_reported_on AS reported
    FROM store_enforcement
    WHERE lift_due_on IS NOT NULL
),
come AS (
    SELECT
        entity_key,
        due,
        CASE WHEN reported <= $as_of THEN reported END AS reported
    FROM feedback
    WHERE reported <= $as_of OR due < $as_of
)
SELECT
    entity_key,
    avg(CASE WHEN reported IS NOT NULL AND reported <= due THEN 1.0 ELSE 0.0 END) AS raw,
    count(*) AS n
FROM come
GROUP BY entity_key
