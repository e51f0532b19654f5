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
), vote_steps AS (
    -- inner join + filter (a hash join); a LEFT JOIN with these range
    -- conditions would fall back to a nested-loop join
    SELECT
        v.source,
        v.vote_id,
        arg_min(st.step_id, (CASE st.phase WHEN 'vote' THEN 0 WHEN 'deposit' THEN 1 ELSE 2 END) * 1000000 - st.position) AS step_id
    FROM core.proposal_votes v
    JOIN st ON st.source = v.source AND st.project_id = v.project_id
    WHERE (st.start_at IS NULL OR v.created_at >= st.start_at)
      AND (st.end_at IS NULL OR v.created_at <= st.end_at)
    GROUP BY v.source, v.vote_id
), votes AS (
    SELECT v.source, v.project_id, vs.step_id, v.created_at AS ts
    FROM core.proposal_votes v
    LEFT JOIN vote_steps vs USING (source, vote_id)
), contrib_steps AS (
    SELECT
        c.source,
        c.contribution_id,
        arg_min(st.step_id, (CASE st.phase WHEN 'consultation' THEN 0 ELSE 1 END) * 1000000 - st.position) AS step_id
    FROM core.contributions c
    JOIN st ON st.source = c.source AND st.project_id = c.project_id
    WHERE c.contribution_type <> 'reply'
      AND (st.start_at IS NULL OR c.created_at >= st.start_at)
      AND (st.end_at IS NULL OR c.created_at <= st.end_at)
    GROUP BY c.source, c.contribution_id
), contribs AS (
    SELECT c.source, c.project_id, cs.step_id, c.created_at AS ts
    FROM core.contributions c
    LEFT JOIN contrib_steps cs USING (source, contribution_id)
    WHERE c.contribution_type <> 'reply'
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
    staging.local_day(e.ts, s.timezone) AS day,
    e.author_key
FROM events e
JOIN staging.sources s USING (source)
WHERE e.ts IS NOT NULL
