-- staging.proposal_selections: one row per (proposal, selection step) the
-- proposal belongs to, from payload.selections and from the selection-step
-- listings of raw.proposal_steps; status_name prefers the proposal's own
-- selections entry. step_position is NULL when the step is unknown.
WITH sel AS (
    SELECT source, id AS proposal_id, unnest(json_extract(payload, '$.selections[*]')) AS s
    FROM raw.proposals
    WHERE deleted_run IS NULL
), unioned AS (
    SELECT source, proposal_id, s->>'$.step.id' AS step_id, s->>'$.status.name' AS status_name, 0 AS origin
    FROM sel
    UNION ALL
    SELECT source, proposal_id, step_id, payload->>'$.status.name', 1
    FROM raw.proposal_steps
    WHERE deleted_run IS NULL AND step_kind = 'selection'
)
SELECT
    u.source,
    u.proposal_id,
    u.step_id,
    COALESCE(max(u.status_name) FILTER (WHERE u.origin = 0), max(u.status_name) FILTER (WHERE u.origin = 1)) AS status_name,
    any_value(st.position) AS step_position
FROM unioned u
JOIN staging.proposals p USING (source, proposal_id)
LEFT JOIN staging.steps st ON st.source = u.source AND st.step_id = u.step_id
WHERE u.step_id IS NOT NULL
GROUP BY u.source, u.proposal_id, u.step_id
