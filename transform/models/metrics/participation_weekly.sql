-- metrics.participation_weekly: participation_daily per ISO week (week =
-- local Monday). Contributors are distinct over the week (not a sum of
-- days); cumulative totals run per step up to the end of the week.
WITH w AS (
    SELECT
        a.source,
        a.project_id,
        a.step_id,
        CAST(date_trunc('week', a.day) AS DATE) AS week,
        count(*) FILTER (WHERE a.kind = 'proposal') AS proposals,
        count(*) FILTER (WHERE a.kind = 'vote') AS votes,
        count(*) FILTER (WHERE a.kind = 'contribution') AS contributions,
        count(*) FILTER (WHERE a.kind = 'reply') AS replies,
        count(DISTINCT a.author_key) FILTER (WHERE a.kind IN ('proposal', 'reply')) AS contributors
    FROM intermediate.activity a
    GROUP BY ALL
)
SELECT
    w.source,
    w.project_id,
    w.step_id,
    st.phase,
    w.week,
    w.proposals,
    w.votes,
    w.contributions,
    w.replies,
    w.contributors,
    CAST(sum(w.proposals) OVER c AS BIGINT) AS cumulative_proposals,
    CAST(sum(w.votes) OVER c AS BIGINT) AS cumulative_votes,
    CAST(sum(w.contributions) OVER c AS BIGINT) AS cumulative_contributions,
    CAST(sum(w.replies) OVER c AS BIGINT) AS cumulative_replies
FROM w
LEFT JOIN core.steps st ON st.source = w.source AND st.step_id = w.step_id
WINDOW c AS (PARTITION BY w.source, w.project_id, w.step_id ORDER BY w.week ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY w.source, w.project_id, w.step_id, w.week
