-- metrics.participation_daily: one row per source × project × step × local
-- day with activity (intermediate.activity): new proposals, votes,
-- contributions, replies, distinct known contributors (authors of
-- proposals and replies), and cumulative totals per step up to that day.
WITH d AS (
    SELECT
        a.source,
        a.project_id,
        a.step_id,
        a.day,
        count(*) FILTER (WHERE a.kind = 'proposal') AS proposals,
        count(*) FILTER (WHERE a.kind = 'vote') AS votes,
        count(*) FILTER (WHERE a.kind = 'contribution') AS contributions,
        count(*) FILTER (WHERE a.kind = 'reply') AS replies,
        count(DISTINCT a.author_key) FILTER (WHERE a.kind IN ('proposal', 'reply')) AS contributors
    FROM intermediate.activity a
    GROUP BY ALL
)
SELECT
    d.source,
    d.project_id,
    d.step_id,
    st.phase,
    d.day,
    d.proposals,
    d.votes,
    d.contributions,
    d.replies,
    d.contributors,
    CAST(sum(d.proposals) OVER w AS BIGINT) AS cumulative_proposals,
    CAST(sum(d.votes) OVER w AS BIGINT) AS cumulative_votes,
    CAST(sum(d.contributions) OVER w AS BIGINT) AS cumulative_contributions,
    CAST(sum(d.replies) OVER w AS BIGINT) AS cumulative_replies
FROM d
LEFT JOIN core.steps st ON st.source = d.source AND st.step_id = d.step_id
WINDOW w AS (PARTITION BY d.source, d.project_id, d.step_id ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY d.source, d.project_id, d.step_id, d.day
