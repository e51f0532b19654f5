-- intermediate.edition_proposals: the proposals of each budget edition
-- (staging.project_models.is_budget) that are not in the trash, with their
-- count of published votes (core.proposal_votes).
WITH v AS (
    SELECT source, proposal_id, count(*) AS votes
    FROM core.proposal_votes
    GROUP BY ALL
)
SELECT
    p.source,
    p.project_id,
    p.proposal_id,
    p.category,
    p.theme,
    p.winner,
    p.estimated_cost_eur,
    p.author_key,
    COALESCE(v.votes, 0) AS votes
FROM core.proposals p
JOIN staging.project_models m USING (source, project_id)
LEFT JOIN v USING (source, proposal_id)
WHERE m.is_budget AND NOT p.trashed
