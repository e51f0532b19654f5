-- intermediate.activity: one row per dated participation event, attributed
-- to a step and to a local calendar day of the instance.
-- kind proposal: ts = published_at (else created_at), step = its collect
--   step ('' when unknown).
-- kind vote: ts = created_at; step = the step of the project whose time
--   range contains the vote, preferring vote phases, then deposit, then any
--   other dated step (highest position first); '' when none.
-- kind contribution: step = the containing consultation step, else any
--   containing dated step; '' when none.
-- kind reply: step = the questionnaire step of the reply.
-- author_key is known for proposals and replies only.
WITH st AS (
    SELECT source, project_id, step_id, phase, start_at, end_at, position
    FROM core.steps
    WHERE start_at IS NOT NULL OR end_at IS NOT NULL OR phase = 'vote'
), votes AS (
    SELECT v.source, v.project_id, st.step_id, v.created_at AS ts
    FROM core.proposal_votes v
    LEFT JOIN st ON st.source = v.source AND st.project_id = v.project_id
        AND (st.start_at IS NULL OR v.created_at >= st.start_at)
        AND (st.end_at IS NULL OR v.created_at <= st.end_at)
    QUALIFY row_number() OVER (
        PARTITION BY v.source, v.vote_id
        ORDER BY CASE st.phase WHEN 'vote' THEN 0 WHEN 'deposit' THEN 1 ELSE 2 END, st.position DESC NULLS LAST) = 1
), contribs AS (
    SELECT c.source, c.project_id, st.step_id, c.created_at AS ts
    FROM core.contributions c
    LEFT JOIN st ON st.source = c.source AND st.project_id = c.project_id
        AND (st.start_at IS NULL OR c.created_at >= st.start_at)
        AND (st.end_at IS NULL OR c.created_at <= st.end_at)
    WHERE c.contribution_type <> 'reply'
    QUALIFY row_number() OVER (
        PARTITION BY c.source, c.contribution_id
        ORDER BY CASE st.phase WHEN 'consultation' THEN 0 ELSE 1 END, st.position DESC NULLS LAST) = 1
), events AS (
    SELECT source, project_id, COALESCE(collect_step_id, '') AS step_id, 'proposal' AS kind,
           COALESCE(published_at, created_at) AS ts, author_key
    FROM core.proposals
    UNION ALL
    SELECT source, project_id, COALESCE(step_id, ''), 'vote', ts, NULL FROM votes
    UNION ALL
    SELECT source, project_id, COALESCE(step_id, ''), 'contribution', ts, NULL FROM contribs
    UNION ALL
    SELECT source, project_id, COALESCE(step_id, ''), 'reply', created_at, author_key
    FROM core.contributions
    WHERE contribution_type = 'reply'
)
SELECT
    e.source,
    e.project_id,
    e.step_id,
    e.kind,
    e.ts,
    CAST(timezone(s.timezone, e.ts) AS DATE) AS day,
    e.author_key
FROM events e
JOIN staging.sources s USING (source)
WHERE e.ts IS NOT NULL
