/* ---
title: Catégories qui gagnent
description: >-
  Pour chaque catégorie de propositions : nombre de propositions (hors corbeille),
  de lauréates, taux de lauréates et votes reçus. « (aucune) » regroupe les
  propositions sans catégorie.
params:
  - {name: project, type: string, description: "Identifiant du projet ; tous les projets par défaut."}
  - {name: source, type: string, description: "Plateforme ; toutes par défaut."}
example: "project=UHJvamVjdDox"
--- */
SELECT coalesce(category, '(aucune)') AS category,
       count(*)::BIGINT AS proposals,
       count(*) FILTER (WHERE winner)::BIGINT AS winners,
       round(count(*) FILTER (WHERE winner) / count(*), 4) AS winner_rate,
       coalesce(sum(votes_count), 0)::BIGINT AS votes
FROM proposals
WHERE NOT coalesce(trashed, false)
  AND ($project IS NULL OR project_id = $project)
  AND ($source IS NULL OR source = $source)
GROUP BY 1
ORDER BY winners DESC, votes DESC, category
