-- Each platform that has orders, numbered (pi), with the number of local days its orders span: partitions are
-- numbered pi * $stride + window, and every later step keys accounts and shops by (pi, key64(id)).
SELECT
    platform,
    row_number() OVER (ORDER BY platform) AS pi,
    CAST(max(t) - min(t) + 1 AS DOUBLE) AS days
FROM (
    SELECT
        platform,
        -- floor(epoch()): whole seconds since 1970 on both engines, ten times cheaper than a date_diff.
        CAST(floor((floor(epoch(ordered_at)) + $utc_offset_s) / 86400.0) AS BIGINT) AS t
    FROM orders
    WHERE status <> 'cancelled'
) AS x
GROUP BY platform
