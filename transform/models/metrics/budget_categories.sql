-- metrics.budget_categories: per budget edition, dimension (category,
-- theme) and label ('(aucun)' when none): proposals, their share of the
-- edition's proposals, votes, their share of the edition's votes (NULL
-- when the edition has no votes) and winners, over the edition proposals
-- not in the trash (intermediate.edition_proposals).
WITH long AS (
    SELECT source, project_id, 'category' AS dimension, COALESCE(category, '(aucun)') AS label, votes, winner
    FROM intermediate.edition_proposals
    UNION ALL
    SELECT source, project_id, 'theme', COALESCE(theme, '(aucun)'), votes, winner
    FROM intermediate.edition_proposals
), g AS (
    SELECT source, project_id, dimension, label,
           count(*) AS proposals, sum(votes) AS votes, count(*) FILTER (WHERE winner) AS winners
    FROM long
    GROUP BY ALL
)
SELECT
    g.source,
    g.project_id,
    g.dimension,
    g.label,
    CAST(g.proposals AS BIGINT) AS proposals,
    g.proposals / CAST(sum(g.proposals) OVER e AS DOUBLE) AS proposals_share,
    CAST(g.votes AS BIGINT) AS votes,
    CASE WHEN sum(g.votes) OVER e > 0 THEN g.votes / CAST(sum(g.votes) OVER e AS DOUBLE) END AS votes_share,
    CAST(g.winners AS BIGINT) AS winners
FROM g
JOIN metrics.budget_comparison b USING (source, project_id)
WINDOW e AS (PARTITION BY g.source, g.project_id, g.dimension)
ORDER BY g.source, g.project_id, g.dimension, g.label
