-- staging.proposal_votes: alive votes on alive proposals, typed, with the
-- proposal's project (unique by the raw key (source, id)); published
-- defaults to true when absent.
-- created_local is the wall-clock time of the instance, created_at the UTC
-- instant. Votes are the largest table, so the ICU conversion runs once per
-- distinct local hour instead of once per vote: utc(t) = utc(hour(t)) +
-- (t − hour(t)), exact for zones whose DST changes happen on the hour (all
-- French zones), same DST rules as staging.utc_ts.
WITH f AS (
    -- one JSON parse per payload for the three fields
    SELECT v.source, v.id, v.proposal_id,
           json_extract_string(v.payload, ['$.createdAt', '$.published', '$.anonymous']) AS f
    FROM raw.proposal_votes v
    WHERE v.deleted_run IS NULL
), v AS (
    SELECT
        f.source,
        f.id AS vote_id,
        f.proposal_id,
        p.project_id,
        s.timezone,
        staging.local_ts(f.f[1]) AS created_local,
        COALESCE(TRY_CAST(f.f[2] AS BOOLEAN), true) AS published,
        COALESCE(TRY_CAST(f.f[3] AS BOOLEAN), false) AS anonymous
    FROM f
    JOIN staging.sources s USING (source)
    JOIN staging.proposals p ON p.source = f.source AND p.proposal_id = f.proposal_id
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
