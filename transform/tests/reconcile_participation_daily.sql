-- Totals of metrics.participation_daily = the dated rows of the core tables, per source:
-- proposals (published_at, else created_at), votes, contributions and replies.
WITH d AS (
    SELECT source, sum(proposals) AS proposals, sum(votes) AS votes,
           sum(contributions) AS contributions, sum(replies) AS replies
    FROM metrics.participation_daily GROUP BY ALL
), c AS (
    SELECT s.source,
        (SELECT count(*) FROM core.proposals p WHERE p.source = s.source AND COALESCE(p.published_at, p.created_at) IS NOT NULL) AS proposals,
        (SELECT count(*) FROM core.proposal_votes v WHERE v.source = s.source AND v.created_at IS NOT NULL) AS votes,
        (SELECT count(*) FROM core.contributions x WHERE x.source = s.source AND x.contribution_type <> 'reply' AND x.created_at IS NOT NULL) AS contributions,
        (SELECT count(*) FROM core.contributions x WHERE x.source = s.source AND x.contribution_type = 'reply' AND x.created_at IS NOT NULL) AS replies
    FROM staging.sources s
)
SELECT c.source, c.proposals, d.proposals AS daily_proposals, c.votes, d.votes AS daily_votes,
       c.contributions, d.contributions AS daily_contributions, c.replies, d.replies AS daily_replies
FROM c LEFT JOIN d USING (source)
WHERE c.proposals <> COALESCE(d.proposals, 0) OR c.votes <> COALESCE(d.votes, 0)
   OR c.contributions <> COALESCE(d.contributions, 0) OR c.replies <> COALESCE(d.replies, 0)
