/* ---
title: Participation par jour d'un projet sur une période
description: >-
  Propositions, votes, contributions et réponses de chaque jour (heure locale)
  pour un projet, entre deux dates incluses.
params:
  - {name: project, type: string, required: true, description: "Identifiant du projet (colonne project_id)."}
  - {name: source, type: string, description: "Plateforme ; facultatif si l'identifiant du projet est unique."}
  - {name: from, type: date, description: "Premier jour (AAAA-MM-JJ) ; par défaut le début."}
  - {name: to, type: date, description: "Dernier jour inclus (AAAA-MM-JJ) ; par défaut la fin."}
example: "project=UHJvamVjdDox&from=2024-03-01&to=2024-03-31"
--- */
SELECT day,
       sum(proposals)::BIGINT AS proposals,
       sum(votes)::BIGINT AS votes,
       sum(contributions)::BIGINT AS contributions,
       sum(replies)::BIGINT AS replies
FROM participation_daily
WHERE project_id = $project
  AND ($source IS NULL OR source = $source)
  AND ($from IS NULL OR day >= CAST($from AS DATE))
  AND ($to IS NULL OR day <= CAST($to AS DATE))
GROUP BY day
ORDER BY day
