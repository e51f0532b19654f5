-- staging.project_models: per project, its edition label, exercise model
-- and budget settings.
-- edition: config, else the local year of the first step start, else of
-- the publication. exercise_model: config, else inferred: first from the
-- project title ("orientation" = orientations, "appel à projets" =
-- appel-a-projets, "thématique" = bp-thematique), else from the phases:
-- deposit + vote = bp; deposit without vote = appel-a-projets; only
-- consultation/questionnaire (other steps allowed) = orientations; else
-- other. is_budget: the project has a CollectStep or is configured.
WITH st AS (
    SELECT
        s.source,
        s.project_id,
        count(*) AS steps_count,
        bool_or(ph.phase = 'deposit') AS has_deposit,
        bool_or(ph.phase = 'vote') AS has_vote,
        bool_or(ph.phase IN ('consultation', 'questionnaire')) AS has_consultation,
        bool_and(ph.phase IN ('consultation', 'questionnaire', 'other')) AS consultation_only,
        min(s.start_at) AS first_start
    FROM staging.steps s
    JOIN staging.step_phases ph USING (source, step_id)
    GROUP BY s.source, s.project_id
), inferred AS (
    SELECT
        p.source,
        p.project_id,
        COALESCE(st.steps_count, 0) AS steps_count,
        COALESCE(st.has_deposit, false) AS has_deposit,
        CASE
            WHEN regexp_matches(lower(strip_accents(p.title)), 'orientation') THEN 'orientations'
            WHEN regexp_matches(lower(strip_accents(p.title)), 'appels? a projets?') THEN 'appel-a-projets'
            WHEN regexp_matches(lower(strip_accents(p.title)), 'thematique') THEN 'bp-thematique'
            WHEN st.has_deposit AND st.has_vote THEN 'bp'
            WHEN st.has_deposit THEN 'appel-a-projets'
            WHEN st.has_consultation AND st.consultation_only THEN 'orientations'
            ELSE 'other'
        END AS inferred_model,
        CAST(year(staging.local_day(COALESCE(st.first_start, p.published_at), s.timezone)) AS VARCHAR) AS inferred_edition
    FROM staging.projects p
    JOIN staging.sources s USING (source)
    LEFT JOIN st USING (source, project_id)
)
SELECT
    i.source,
    i.project_id,
    COALESCE(cfg.edition, i.inferred_edition) AS edition,
    COALESCE(cfg.exercise_model, i.inferred_model) AS exercise_model,
    cfg.exercise_model IS NULL AS exercise_model_inferred,
    (i.has_deposit OR cfg.project_id IS NOT NULL) AS is_budget,
    cfg.envelope_eur,
    COALESCE(cfg.winner_statuses, s.winner_statuses) AS winner_statuses,
    i.steps_count
FROM inferred i
JOIN staging.sources s USING (source)
LEFT JOIN staging.seed_projects cfg USING (source, project_id)
