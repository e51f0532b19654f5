-- staging.events: alive events, typed, dates in UTC.
SELECT
    e.source,
    e.id AS event_id,
    e.payload->>'$.title' AS title,
    e.payload->>'$.url' AS url,
    staging.utc_ts(e.payload->>'$.timeRange.startAt', s.timezone) AS start_at,
    staging.utc_ts(e.payload->>'$.timeRange.endAt', s.timezone) AS end_at,
    COALESCE(TRY_CAST(e.payload->>'$.enabled' AS BOOLEAN), true) AS enabled,
    TRY_CAST(e.payload->>'$.googleMapsAddress.lat' AS DOUBLE) AS latitude,
    TRY_CAST(e.payload->>'$.googleMapsAddress.lng' AS DOUBLE) AS longitude
FROM raw.events e
JOIN staging.sources s USING (source)
WHERE e.deleted_run IS NULL
QUALIFY row_number() OVER (PARTITION BY e.source, e.id ORDER BY e.last_seen_run DESC) = 1
