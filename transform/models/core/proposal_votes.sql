-- core.proposal_votes: one row per published vote on a proposal of
-- core.proposals (the API gives no voter identity).
SELECT
    v.source,
    v.vote_id,
    v.proposal_id,
    v.project_id,
    v.created_at,
    v.anonymous
FROM staging.proposal_votes v
JOIN core.proposals p USING (source, proposal_id)
WHERE v.published
