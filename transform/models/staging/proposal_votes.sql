-- staging.proposal_votes: alive votes on alive proposals, typed, with the
-- proposal's project (unique by the raw key (source, id)); published
-- defaults to true when absent.
-- created_local is the wall-clock time of the instance, created_at the UTC
-- instant. Votes are the largest table, so the ICU conversion runs once per
-- distinct local hour instead of once per vote: utc(t) = utc(hour(t)) +
-- (t − hour(t)), exact for zones whose DST changes happen on the hour (all
-- French zones), same DST rules as staging.utc_ts.
WITH v AS (
    SELECT
        v.source,
        v.id AS vote_id,
        v.proposal_id,
        p.project_id,
        s.timezone,
        staging.local_ts(v.payload->>'$.createdAt') AS created_local,
        COALESCE(TRY_CAST(v.payload->>'$.published' AS BOOLEAN), true) AS published,
        COALESCE(TRY_CAST(v.payload->>'$.anonymous' AS BOOLEAN), false) AS anonymous
    FROM raw.proposal_votes v
    JOIN staging.sources s USING (source)
    JOIN staging.proposals p ON p.source = v.source AND p.proposal_id = v.proposal_id
    WHERE v.deleted_run IS NULL
), hours AS (
    SELECT timezone, hour, staging.utc_ts(strftime(hour, '%Y-%m-%d %H:%M:%S'), timezone) AS hour_utc
    FROM (SELECT DISTINCT timezone, date_trunc('hour', created_local) AS hour FROM v WHERE created_local IS NOT NULL)
)
SELECT
    v.source,
    v.vote_id,
    v.proposal_id,
    v.project_id,
    h.hour_utc + (v.created_local - h.hour) AS created_at,
    v.created_local,
    v.published,
    v.anonymous
FROM v
LEFT JOIN hours h ON h.timezone = v.timezone AND h.hour = date_trunc('hour', v.created_local)
