-- staging.replies: alive questionnaire replies of alive projects, typed,
-- dates in UTC, with their step and raw author id (hashed in core).
SELECT
    r.source,
    r.id AS reply_id,
    r.project_id,
    r.step_id,
    r.questionnaire_id,
    r.author_id,
    staging.utc_ts(r.payload->>'$.createdAt', s.timezone) AS created_at,
    staging.local_ts(r.payload->>'$.createdAt') AS created_local,
    staging.utc_ts(r.payload->>'$.publishedAt', s.timezone) AS published_at,
    COALESCE(TRY_CAST(r.payload->>'$.published' AS BOOLEAN), true) AS published,
    COALESCE(TRY_CAST(r.payload->>'$.draft' AS BOOLEAN), false) AS draft
FROM raw.replies r
JOIN staging.sources s USING (source)
JOIN staging.projects p ON p.source = r.source AND p.project_id = r.project_id
WHERE r.deleted_run IS NULL
QUALIFY row_number() OVER (PARTITION BY r.source, r.id ORDER BY r.last_seen_run DESC) = 1
