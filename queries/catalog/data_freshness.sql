/* ---
title: Fraîcheur des données par plateforme
description: >-
  Pour chaque plateforme : la publication (release) en cours, le nombre de
  projets, les dernières dates de publication de projet, de début et de fin
  d'étape, de proposition et de vote, et la dernière activité observée.
params: []
example: ""
--- */
WITH r AS (
    SELECT release_id, created_at FROM release_info LIMIT 1
), p AS (
    SELECT source, count(*)::BIGINT AS projects, max(published_at) AS last_project_published_at
    FROM projects GROUP BY source
), s AS (
    SELECT source, max(start_at) AS last_step_start_at, max(end_at) AS last_step_end_at,
           count(*) FILTER (WHERE state = 'OPENED')::BIGINT AS open_steps
    FROM steps GROUP BY source
), pr AS (
    SELECT source, max(created_at) AS last_proposal_at FROM proposals GROUP BY source
), v AS (
    SELECT source, max(created_at) AS last_vote_at FROM proposal_votes GROUP BY source
)
SELECT p.source, r.release_id, r.created_at AS release_created_at,
       p.projects, p.last_project_published_at,
       s.last_step_start_at, s.last_step_end_at, coalesce(s.open_steps, 0) AS open_steps,
       pr.last_proposal_at, v.last_vote_at,
       greatest(p.last_project_published_at, s.last_step_start_at, pr.last_proposal_at, v.last_vote_at) AS last_activity_at
FROM p
CROSS JOIN r
LEFT JOIN s ON s.source = p.source
LEFT JOIN pr ON pr.source = p.source
LEFT JOIN v ON v.source = p.source
ORDER BY p.source
