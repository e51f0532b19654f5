-- core.users: one row per visible account, pseudonymised: the account id
-- becomes its keyed hash (capstat_author_key); no username or profile.
SELECT
    source,
    capstat_author_key(source, user_id) AS author_key,
    created_at,
    user_type,
    deleted
FROM staging.users
