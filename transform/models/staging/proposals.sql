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
    r.payload->>'$.reference' AS reference,
    r.payload->>'$.title' AS title,
    r.payload->>'$.url' AS url,
    staging.utc_ts(r.payload->>'$.createdAt', s.timezone) AS created_at,
    staging.local_ts(r.payload->>'$.createdAt') AS created_local,
    staging.utc_ts(r.payload->>'$.publishedAt', s.timezone) AS published_at,
    staging.local_ts(r.payload->>'$.publishedAt') AS published_local,
    COALESCE(TRY_CAST(r.payload->>'$.published' AS BOOLEAN), true) AS published,
    COALESCE(TRY_CAST(r.payload->>'$.draft' AS BOOLEAN), false) AS draft,
    COALESCE(TRY_CAST(r.payload->>'$.trashed' AS BOOLEAN), false) AS trashed,
    r.payload->>'$.category.name' AS category,
    r.payload->>'$.theme.title' AS theme,
    TRY_CAST(r.payload->>'$.address.lat' AS DOUBLE) AS latitude,
    TRY_CAST(r.payload->>'$.address.lng' AS DOUBLE) AS longitude,
    TRY_CAST(r.payload->>'$.votes.totalCount' AS BIGINT) AS votes_count,
    COALESCE(
        TRY_CAST(r.payload->>'$.decision.estimatedCost' AS BIGINT),
        TRY_CAST(r.payload->>'$.assessment.estimatedCost' AS BIGINT),
        list_filter(
            list_transform(json_extract(r.payload, '$.analyses[*].estimatedCost'), x -> TRY_CAST(x AS BIGINT)),
            x -> x IS NOT NULL)[1],
        TRY_CAST(r.payload->>'$.analyses.estimatedCost' AS BIGINT)
    ) AS api_cost
FROM raw.proposals r
JOIN staging.sources s USING (source)
JOIN staging.projects p ON p.source = r.source AND p.project_id = r.project_id
WHERE r.deleted_run IS NULL
QUALIFY row_number() OVER (PARTITION BY r.source, r.id ORDER BY r.last_seen_run DESC) = 1
