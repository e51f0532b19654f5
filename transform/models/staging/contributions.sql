-- staging.contributions: alive opinions, versions, arguments and sources
-- of alive projects. contribution_type is the lower-cased __typename;
-- parent_id is the amended opinion of a version (parent) or the
-- contribution an argument or source relates to (related).
SELECT
    c.source,
    c.id AS contribution_id,
    lower(COALESCE(c.payload->>'$.__typename', 'unknown')) AS contribution_type,
    c.project_id,
    COALESCE(c.payload->>'$.parent.id', c.payload->>'$.related.id') AS parent_id,
    staging.utc_ts(c.payload->>'$.createdAt', s.timezone) AS created_at,
    staging.local_ts(c.payload->>'$.createdAt') AS created_local,
    staging.utc_ts(c.payload->>'$.publishedAt', s.timezone) AS published_at,
    COALESCE(TRY_CAST(c.payload->>'$.trashed' AS BOOLEAN), false) AS trashed,
    c.payload->>'$.type' AS argument_type
FROM raw.contributions c
JOIN staging.sources s USING (source)
JOIN staging.projects p ON p.source = c.source AND p.project_id = c.project_id
WHERE c.deleted_run IS NULL
QUALIFY row_number() OVER (PARTITION BY c.source, c.id ORDER BY c.last_seen_run DESC) = 1
