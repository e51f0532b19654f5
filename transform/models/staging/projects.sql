-- staging.projects: alive projects (deleted_run IS NULL), typed, one row
-- per (source, project_id), dates converted to UTC from the source's zone.
SELECT
    p.source,
    p.id AS project_id,
    p.payload->>'$.title' AS title,
    p.payload->>'$.url' AS url,
    staging.utc_ts(p.payload->>'$.publishedAt', s.timezone) AS published_at,
    p.payload->>'$.type.title' AS project_type,
    TRY_CAST(p.payload->>'$.contributions.totalCount' AS BIGINT) AS api_contributions_count,
    TRY_CAST(p.payload->>'$.votes.totalCount' AS BIGINT) AS api_votes_count,
    TRY_CAST(p.payload->>'$.contributors.totalCount' AS BIGINT) AS api_contributors_count
FROM raw.projects p
JOIN staging.sources s USING (source)
WHERE p.deleted_run IS NULL
QUALIFY row_number() OVER (PARTITION BY p.source, p.id ORDER BY p.last_seen_run DESC) = 1
