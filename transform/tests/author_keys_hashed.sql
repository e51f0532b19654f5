-- No raw author id reaches a core table: every author_key is a 64-hex HMAC
-- and none equals a raw user id or a raw proposal/reply author id.
WITH keys AS (
    SELECT 'proposals' AS tbl, source, author_key FROM core.proposals WHERE author_key IS NOT NULL
    UNION ALL
    SELECT 'contributions', source, author_key FROM core.contributions WHERE author_key IS NOT NULL
    UNION ALL
    SELECT 'users', source, author_key FROM core.users
), raw_ids AS (
    SELECT source, id FROM raw.users
    UNION SELECT source, author_id FROM raw.proposals WHERE author_id IS NOT NULL
    UNION SELECT source, author_id FROM raw.replies WHERE author_id IS NOT NULL
)
SELECT k.tbl, k.source, k.author_key
FROM keys k
WHERE k.author_key IS NULL
   OR NOT regexp_full_match(k.author_key, '[0-9a-f]{64}')
   OR EXISTS (SELECT 1 FROM raw_ids r WHERE r.source = k.source AND r.id = k.author_key)
