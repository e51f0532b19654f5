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
-- author_key is known for proposals and replies only. day is the date of
-- the instance's wall-clock time (staging *_local columns), so no time-zone
-- conversion is needed here.
WITH st AS (
    SELECT source, project_id, step_id, phase, position,
           COALESCE(start_at, '-infinity'::TIMESTAMPTZ) AS lo,
           COALESCE(end_at, 'infinity'::TIMESTAMPTZ) AS hi
    FROM core.steps
    WHERE start_at IS NOT NULL OR end_at IS NOT NULL OR phase = 'vote'
), vote_steps AS (
    SELECT
        v.rowid AS vote_row,
        arg_min(st.step_id, (CASE st.phase WHEN 'vote' THEN 0 WHEN 'deposit' THEN 1 ELSE 2 END) * 1000000 - st.position) AS step_id
    FROM staging.proposal_votes v
    JOIN st ON st.source = v.source AND st.project_id = v.project_id AND v.created_at BETWEEN st.lo AND st.hi
    WHERE v.published
    GROUP BY v.rowid
), contrib_steps AS (
    SELECT
        c.source,
        c.contribution_id,
        arg_min(st.step_id, (CASE st.phase WHEN 'consultation' THEN 0 ELSE 1 END) * 1000000 - st.position) AS step_id
    FROM staging.contributions c
    JOIN st ON st.source = c.source AND st.project_id = c.project_id AND c.created_at BETWEEN st.lo AND st.hi
    GROUP BY c.source, c.contribution_id
)
SELECT p.source, p.project_id, COALESCE(p.collect_step_id, '') AS step_id, 'proposal' AS kind,
       COALESCE(p.published_at, p.created_at) AS ts,
       CAST(CASE WHEN p.published_at IS NOT NULL THEN sp.published_local ELSE sp.created_local END AS DATE) AS day,
       p.author_key
FROM core.proposals p
JOIN staging.proposals sp USING (source, proposal_id)
WHERE COALESCE(p.published_at, p.created_at) IS NOT NULL
UNION ALL
SELECT v.source, v.project_id, COALESCE(vs.step_id, ''), 'vote', v.created_at, CAST(v.created_local AS DATE), NULL
FROM staging.proposal_votes v
LEFT JOIN vote_steps vs ON vs.vote_row = v.rowid
WHERE v.published AND v.created_at IS NOT NULL
UNION ALL
SELECT c.source, c.project_id, COALESCE(cs.step_id, ''), 'contribution', c.created_at, CAST(c.created_local AS DATE), NULL
FROM staging.contributions c
LEFT JOIN contrib_steps cs USING (source, contribution_id)
WHERE c.created_at IS NOT NULL
UNION ALL
SELECT c.source, c.project_id, COALESCE(c.step_id, ''), 'reply', c.created_at, CAST(r.created_local AS DATE), c.author_key
FROM core.contributions c
JOIN staging.replies r ON r.source = c.source AND r.reply_id = c.contribution_id
WHERE c.contribution_type = 'reply' AND c.created_at IS NOT NULL
