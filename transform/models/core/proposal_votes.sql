-- core.proposal_votes: one row per published vote on a proposal of
-- core.proposals (staging.proposal_votes only holds votes on alive
-- proposals of alive projects, i.e. of core.proposals; the data tests check
-- the relationship). The API gives no voter identity.
SELECT
    source,
    vote_id,
    proposal_id,
    project_id,
    created_at,
    anonymous
FROM staging.proposal_votes
WHERE published
