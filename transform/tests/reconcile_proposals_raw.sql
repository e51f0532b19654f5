-- Distinct alive raw proposals of alive projects = rows of core.proposals, per source.
WITH r AS (
    SELECT rp.source, count(DISTINCT rp.id) AS n
    FROM raw.proposals rp
    JOIN raw.projects pj ON pj.source = rp.source AND pj.id = rp.project_id AND pj.deleted_run IS NULL
    WHERE rp.deleted_run IS NULL
    GROUP BY ALL
), c AS (
    SELECT source, count(*) AS n FROM core.proposals GROUP BY ALL
)
SELECT source, r.n AS raw_proposals, c.n AS core_proposals
FROM r FULL JOIN c USING (source)
WHERE COALESCE(r.n, 0) <> COALESCE(c.n, 0)
