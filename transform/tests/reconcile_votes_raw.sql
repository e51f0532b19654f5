-- Alive, published raw votes on proposals of core.proposals = rows of core.proposal_votes, per source.
WITH r AS (
    SELECT v.source, count(DISTINCT v.id) AS n
    FROM raw.proposal_votes v
    JOIN core.proposals p ON p.source = v.source AND p.proposal_id = v.proposal_id
    WHERE v.deleted_run IS NULL AND COALESCE(TRY_CAST(v.payload->>'$.published' AS BOOLEAN), true)
    GROUP BY ALL
), c AS (
    SELECT source, count(*) AS n FROM core.proposal_votes GROUP BY ALL
)
SELECT source, r.n AS raw_votes, c.n AS core_votes
FROM r FULL JOIN c USING (source)
WHERE COALESCE(r.n, 0) <> COALESCE(c.n, 0)
