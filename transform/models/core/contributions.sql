-- core.contributions: one row per opinion, version, argument, source
-- (no author in the API) or questionnaire reply (with its step and the
-- author's keyed hash).
SELECT
    c.source,
    c.contribution_id,
    c.contribution_type,
    c.project_id,
    CAST(NULL AS VARCHAR) AS step_id,
    c.parent_id,
    c.created_at,
    c.published_at,
    c.trashed,
    c.argument_type,
    CAST(NULL AS VARCHAR) AS author_key
FROM staging.contributions c
UNION ALL
SELECT
    r.source,
    r.reply_id,
    'reply',
    r.project_id,
    r.step_id,
    NULL,
    r.created_at,
    r.published_at,
    false,
    NULL,
    CASE WHEN r.author_id IS NOT NULL AND r.author_id <> '' THEN capstat_author_key(r.source, r.author_id) END
FROM staging.replies r
