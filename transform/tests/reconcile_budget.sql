-- budget_comparison agrees with core: votes of an edition <= votes of its project in core.proposal_votes,
-- budget_categories sums back to the edition's proposals, votes and winners for each dimension.
WITH cat AS (
    SELECT source, project_id, dimension, sum(proposals) AS proposals, sum(votes) AS votes, sum(winners) AS winners
    FROM metrics.budget_categories GROUP BY ALL
), core_votes AS (
    SELECT source, project_id, count(*) AS votes FROM core.proposal_votes GROUP BY ALL
)
SELECT b.source, b.project_id, 'categories ' || cat.dimension AS check, b.proposals, cat.proposals AS other_proposals,
       b.votes, cat.votes AS other_votes
FROM metrics.budget_comparison b
JOIN cat USING (source, project_id)
WHERE cat.proposals <> b.proposals OR cat.votes <> b.votes OR cat.winners <> b.winners
UNION ALL
SELECT b.source, b.project_id, 'votes vs core', b.proposals, NULL, b.votes, COALESCE(cv.votes, 0)
FROM metrics.budget_comparison b
LEFT JOIN core_votes cv USING (source, project_id)
WHERE b.votes > COALESCE(cv.votes, 0)
