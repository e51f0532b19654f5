-- metrics.phase_summary: one row per step (core.steps) with its totals.
-- proposals: distinct proposals deposited in the step (collect step) or
-- listed in it (selection steps). votes, contributions, replies and
-- contributors: the activity attributed to the step (intermediate.activity,
-- i.e. falling in its time range). votes_last_7_days: votes in
-- (end_at - 7 days, end_at], NULL when the step has no end.
-- votes_last_7_days_share: votes_last_7_days / votes, NULL without votes.
WITH props AS (
    SELECT source, collect_step_id AS step_id, proposal_id
    FROM core.proposals
    WHERE collect_step_id IS NOT NULL
    UNION
    SELECT ps.source, ps.step_id, ps.proposal_id
    FROM staging.proposal_selections ps
    JOIN core.proposals p USING (source, proposal_id)
), p AS (
    SELECT source, step_id, count(*) AS proposals FROM props GROUP BY ALL
), a AS (
    SELECT
        a.source,
        a.step_id,
        count(*) FILTER (WHERE a.kind = 'vote') AS votes,
        count(*) FILTER (WHERE a.kind = 'contribution') AS contributions,
        count(*) FILTER (WHERE a.kind = 'reply') AS replies,
        count(DISTINCT a.author_key) FILTER (WHERE a.kind IN ('proposal', 'reply')) AS contributors,
        count(*) FILTER (WHERE a.kind = 'vote' AND a.ts > st.end_at - INTERVAL 7 DAY) AS votes_last_7_days
    FROM intermediate.activity a
    JOIN core.steps st USING (source, step_id)
    GROUP BY ALL
)
SELECT
    st.source,
    st.project_id,
    st.step_id,
    st.phase,
    st.start_at,
    st.end_at,
    COALESCE(p.proposals, 0) AS proposals,
    COALESCE(a.votes, 0) AS votes,
    COALESCE(a.contributions, 0) AS contributions,
    COALESCE(a.replies, 0) AS replies,
    COALESCE(a.contributors, 0) AS contributors,
    CASE WHEN st.end_at IS NOT NULL THEN COALESCE(a.votes_last_7_days, 0) END AS votes_last_7_days,
    CASE WHEN st.end_at IS NOT NULL AND a.votes > 0
         THEN CAST(a.votes_last_7_days AS DOUBLE) / a.votes END AS votes_last_7_days_share
FROM core.steps st
LEFT JOIN p USING (source, step_id)
LEFT JOIN a USING (source, step_id)
ORDER BY st.source, st.project_id, st.position
