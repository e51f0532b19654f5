/* ---
title: Votes par heure de la journée pendant la phase de vote
description: >-
  Répartition des votes d'un projet selon l'heure locale (Europe/Paris) à
  laquelle ils ont été déposés, pendant ses étapes de vote. Les 24 heures sont
  toujours présentes, même sans vote.
params:
  - {name: project, type: string, required: true, description: "Identifiant du projet."}
  - {name: source, type: string, description: "Plateforme ; facultatif si l'identifiant du projet est unique."}
  - {name: step, type: string, description: "Une étape de vote précise (step_id) ; toutes par défaut."}
example: "project=UHJvamVjdDox"
--- */
WITH vote_steps AS (
    SELECT source, project_id, step_id, start_at, end_at
    FROM steps
    WHERE phase = 'vote'
      AND project_id = $project
      AND ($source IS NULL OR source = $source)
      AND ($step IS NULL OR step_id = $step)
), phase_votes AS (
    SELECT hour(timezone('Europe/Paris', v.created_at)) AS hour
    FROM proposal_votes AS v
    JOIN vote_steps AS s
      ON v.source = s.source AND v.project_id = s.project_id
     AND v.created_at >= s.start_at
     AND (s.end_at IS NULL OR v.created_at <= s.end_at)
)
SELECT h.hour::INTEGER AS hour,
       count(pv.hour)::BIGINT AS votes,
       round(count(pv.hour) / nullif(sum(count(pv.hour)) OVER (), 0), 4) AS share
FROM generate_series(0, 23) AS h(hour)
LEFT JOIN phase_votes AS pv ON pv.hour = h.hour
GROUP BY h.hour
ORDER BY h.hour
