/* ---
title: Participation par semaine d'une collectivité
description: >-
  Pour une collectivité (code Insee, par exemple « 40 » pour les Landes), les
  propositions, votes, contributions et réponses de chaque semaine, tous projets
  confondus, avec le nombre de projets actifs dans la semaine.
params:
  - {name: collectivity, type: string, required: true, description: "Code de la collectivité (colonne collectivity_code, ex. « 40 »)."}
  - {name: edition, type: string, description: "Édition (ex. « 2024 ») pour ne garder que ses projets."}
example: "collectivity=40"
--- */
SELECT w.week,
       count(DISTINCT w.source || '/' || w.project_id)::BIGINT AS active_projects,
       sum(w.proposals)::BIGINT AS proposals,
       sum(w.votes)::BIGINT AS votes,
       sum(w.contributions)::BIGINT AS contributions,
       sum(w.replies)::BIGINT AS replies,
       (sum(sum(w.votes)) OVER (ORDER BY w.week ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))::BIGINT AS cumulative_votes
FROM participation_weekly AS w
JOIN projects AS p ON p.source = w.source AND p.project_id = w.project_id
WHERE p.collectivity_code = $collectivity
  AND ($edition IS NULL OR p.edition = $edition)
GROUP BY w.week
ORDER BY w.week
