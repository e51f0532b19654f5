-- staging.proposals: alive proposals of alive projects, one row per
-- (source, proposal_id) whatever the steps they were listed in; typed,
-- dates in UTC. api_cost is estimatedCost from the decision, else the
-- assessment, else the first analysis that has one (readable only with a
-- token); NULL otherwise.
SELECT
    r.source,
    r.id AS proposal_id,
    r.project_id,
    r.collect_step_id,
    r.author_id,
    r.f[1] AS reference,
    r.f[2] AS title,
    r.f[3] AS url,
    staging.utc_ts(r.f[4], s.timezone) AS created_at,
    staging.local_ts(r.f[4]) AS created_local,
    staging.utc_ts(r.f[5], s.timezone) AS published_at,
    staging.local_ts(r.f[5]) AS published_local,
    COALESCE(TRY_CAST(r.f[6] AS BOOLEAN), true) AS published,
    COALESCE(TRY_CAST(r.f[7] AS BOOLEAN), false) AS draft,
    COALESCE(TRY_CAST(r.f[8] AS BOOLEAN), false) AS trashed,
    r.f[9] AS category,
    r.f[10] AS theme,
    TRY_CAST(r.f[11] AS DOUBLE) AS latitude,
    TRY_CAST(r.f[12] AS DOUBLE) AS longitude,
    TRY_CAST(r.f[13] AS BIGINT) AS votes_count,
    COALESCE(
        TRY_CAST(r.f[14] AS BIGINT),
        TRY_CAST(r.f[15] AS BIGINT),
        CASE WHEN contains(CAST(r.payload AS VARCHAR), '"analyses"') THEN list_filter(
            list_transform(json_extract(r.payload, '$.analyses[*].estimatedCost'), x -> TRY_CAST(x AS BIGINT)),
            x -> x IS NOT NULL)[1] END,
        TRY_CAST(r.f[16] AS BIGINT)
    ) AS api_cost
FROM (
    -- one JSON parse per payload for the scalar fields
    SELECT *, json_extract_string(payload, ['$.reference', '$.title', '$.url', '$.createdAt', '$.publishedAt', '$.published', '$.draft', '$.trashed', '$.category.name', '$.theme.title', '$.address.lat', '$.address.lng', '$.votes.totalCount', '$.decision.estimatedCost', '$.assessment.estimatedCost', '$.analyses.estimatedCost']) AS f
    FROM raw.proposals
    WHERE deleted_run IS NULL
) r
JOIN staging.sources s USING (source)
JOIN staging.projects p ON p.source = r.source AND p.project_id = r.project_id
QUALIFY row_number() OVER (PARTITION BY r.source, r.id ORDER BY r.last_seen_run DESC) = 1
