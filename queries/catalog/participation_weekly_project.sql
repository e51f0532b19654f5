/* ---
title: Participation par semaine d'un projet
description: >-
  Propositions, votes, contributions et réponses de chaque semaine (semaine ISO,
  lundi en heure locale) pour un projet, toutes étapes confondues, avec les cumuls
  depuis le début du projet.
params:
  - {name: project, type: string, required: true, description: "Identifiant du projet (colonne project_id)."}
  - {name: source, type: string, description: "Plateforme ; facultatif si l'identifiant du projet est unique."}
example: "project=UHJvamVjdDox"
--- */
SELECT week,
       sum(proposals)::BIGINT AS proposals,
       sum(votes)::BIGINT AS votes,
       sum(contributions)::BIGINT AS contributions,
       sum(replies)::BIGINT AS replies,
       (sum(sum(proposals)) OVER w)::BIGINT AS cumulative_proposals,
       (sum(sum(votes)) OVER w)::BIGINT AS cumulative_votes,
       (sum(sum(contributions)) OVER w)::BIGINT AS cumulative_contributions
FROM participation_weekly
WHERE project_id = $project
  AND ($source IS NULL OR source = $source)
GROUP BY week
WINDOW w AS (ORDER BY week ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY week
