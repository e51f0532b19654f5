-- core.proposals: one row per distinct proposal, trashed ones included.
-- selection_status: status name in the selection step of highest position
-- that gave one. winner: that status is in the project's winner statuses
-- (project config > source config > default list). estimated_cost_eur and
-- cost_source: staging.proposal_costs. author_key: keyed HMAC of the
-- author id (capstat_author_key), never the raw id.
WITH sel AS (
    SELECT
        source,
        proposal_id,
        arg_max(status_name, COALESCE(step_position, -1)) FILTER (WHERE status_name IS NOT NULL) AS selection_status
    FROM staging.proposal_selections
    GROUP BY source, proposal_id
), member AS (
    SELECT DISTINCT source, proposal_id FROM staging.proposal_selections
)
SELECT
    p.source,
    p.proposal_id,
    p.project_id,
    p.collect_step_id,
    p.reference,
    p.title,
    p.url,
    p.created_at,
    p.published_at,
    p.trashed,
    p.category,
    p.theme,
    p.latitude,
    p.longitude,
    c.estimated_cost_eur,
    c.cost_source,
    p.votes_count,
    member.proposal_id IS NOT NULL AS selected,
    sel.selection_status,
    COALESCE(list_contains(m.winner_statuses, sel.selection_status), false) AS winner,
    CASE WHEN p.author_id IS NOT NULL AND p.author_id <> '' THEN capstat_author_key(p.source, p.author_id) END AS author_key
FROM staging.proposals p
JOIN staging.project_models m USING (source, project_id)
LEFT JOIN staging.proposal_costs c USING (source, proposal_id)
LEFT JOIN sel USING (source, proposal_id)
LEFT JOIN member USING (source, proposal_id)
