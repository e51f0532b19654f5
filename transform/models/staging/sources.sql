-- staging.sources: one row per source (platform instance) with its time
-- zone and the collectivity that runs it.
-- Time zone: raw.sources.timezone, default Europe/Paris.
-- Collectivity: the config (staging.seed_sources) first; else the INSEE
-- reference when the source name is the slug of a département or région
-- name ("landes", "deux-sevres", "occitanie"); else a placeholder
-- 'source:<name>' of kind 'other' with an unknown population.
-- Winner statuses: the config, else the catalogue's default list.
WITH names AS (
    SELECT source FROM raw.sources
    UNION
    SELECT source FROM raw.projects
    UNION
    SELECT source FROM staging.seed_sources
), tz AS (
    SELECT source, max(NULLIF(trim(timezone), '')) AS timezone
    FROM raw.sources
    GROUP BY source
)
SELECT
    n.source,
    COALESCE(tz.timezone, 'Europe/Paris') AS timezone,
    COALESCE(cfg.collectivity_code, slug.code, 'source:' || n.source) AS collectivity_code,
    COALESCE(cfg.collectivity_name, ref.name, n.source) AS collectivity_name,
    COALESCE(cfg.collectivity_kind, ref.kind, 'other') AS collectivity_kind,
    COALESCE(cfg.population, ref.population) AS population,
    CASE WHEN cfg.population IS NOT NULL THEN cfg.population_year ELSE ref.population_year END AS population_year,
    ref.region_code,
    COALESCE(cfg.winner_statuses, (SELECT any_value(winner_statuses) FROM staging.seed_defaults)) AS winner_statuses,
    cfg.cost_question
FROM names n
LEFT JOIN tz USING (source)
LEFT JOIN staging.seed_sources cfg USING (source)
LEFT JOIN staging.seed_collectivity_slugs slug ON slug.slug = n.source
LEFT JOIN staging.seed_collectivities ref ON ref.code = COALESCE(cfg.collectivity_code, slug.code)
