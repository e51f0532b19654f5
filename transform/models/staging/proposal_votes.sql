-- staging.proposal_votes: alive votes on alive proposals, typed, with the
-- proposal's project; published defaults to true when absent.
SELECT
    v.source,
    v.id AS vote_id,
    v.proposal_id,
    p.project_id,
    staging.utc_ts(v.payload->>'$.createdAt', s.timezone) AS created_at,
    COALESCE(TRY_CAST(v.payload->>'$.published' AS BOOLEAN), true) AS published,
    COALESCE(TRY_CAST(v.payload->>'$.anonymous' AS BOOLEAN), false) AS anonymous
FROM raw.proposal_votes v
JOIN staging.sources s USING (source)
JOIN staging.proposals p ON p.source = v.source AND p.proposal_id = v.proposal_id
WHERE v.deleted_run IS NULL
QUALIFY row_number() OVER (PARTITION BY v.source, v.id ORDER BY v.last_seen_run DESC) = 1
