-- staging.steps: alive steps of alive projects, typed; step types unknown
-- to the schema are kept with their __typename ('UnknownStep' if absent).
SELECT
    st.source,
    st.id AS step_id,
    st.project_id,
    COALESCE(st.payload->>'$.__typename', 'UnknownStep') AS step_type,
    st.payload->>'$.title' AS title,
    st.payload->>'$.url' AS url,
    st.payload->>'$.state' AS state,
    staging.utc_ts(st.payload->>'$.timeRange.startAt', s.timezone) AS start_at,
    staging.utc_ts(st.payload->>'$.timeRange.endAt', s.timezone) AS end_at,
    CAST(st.position AS INTEGER) AS position,
    TRY_CAST(st.payload->>'$.votesCount' AS BIGINT) AS api_votes_count,
    st.payload->>'$.questionnaire.id' AS questionnaire_id
FROM raw.steps st
JOIN staging.sources s USING (source)
JOIN staging.projects p ON p.source = st.source AND p.project_id = st.project_id
WHERE st.deleted_run IS NULL
QUALIFY row_number() OVER (PARTITION BY st.source, st.id ORDER BY st.last_seen_run DESC) = 1
