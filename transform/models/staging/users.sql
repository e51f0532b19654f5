-- staging.users: alive accounts, typed. Holds the raw id (private, this
-- schema is never published); username and other profile fields are not
-- even copied here.
SELECT
    u.source,
    u.id AS user_id,
    staging.utc_ts(u.payload->>'$.createdAt', s.timezone) AS created_at,
    u.payload->>'$.userType.name' AS user_type,
    (u.payload->>'$.deletedAccountAt') IS NOT NULL AS deleted
FROM raw.users u
JOIN staging.sources s USING (source)
WHERE u.deleted_run IS NULL
QUALIFY row_number() OVER (PARTITION BY u.source, u.id ORDER BY u.last_seen_run DESC) = 1
