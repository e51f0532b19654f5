-- core.projects: one row per published (alive) project, with its
-- collectivity, edition and exercise model (staging.project_models).
SELECT
    p.source,
    p.project_id,
    s.collectivity_code,
    p.title,
    p.url,
    p.published_at,
    p.project_type,
    m.edition,
    m.exercise_model,
    CAST(m.steps_count AS BIGINT) AS steps_count,
    p.api_contributions_count,
    p.api_votes_count,
    p.api_contributors_count
FROM staging.projects p
JOIN staging.sources s USING (source)
JOIN staging.project_models m USING (source, project_id)
