-- The level (心 / 钻 / 皇冠, as platforms show them) of each rated party's points: the band holding the points.
SELECT p.*, l.level
FROM seller_points AS p
JOIN point_levels AS l ON p.points >= l.low AND p.points < l.high
