/* ---
title: Propositions les plus soutenues
description: >-
  Les propositions qui ont reçu le plus de votes, pour un projet ou toute la
  plateforme, hors corbeille par défaut. Les titres sont tels que saisis par
  leurs auteurs.
params:
  - {name: project, type: string, description: "Identifiant du projet ; tous les projets par défaut."}
  - {name: source, type: string, description: "Plateforme ; toutes par défaut."}
  - {name: include_trashed, type: bool, default: false, description: "Inclure les propositions mises à la corbeille."}
  - {name: limit, type: int, default: 10, description: "Nombre de propositions."}
example: "project=UHJvamVjdDox&limit=5"
--- */
SELECT source, project_id, proposal_id, reference, title, category, votes_count, selection_status, winner, url
FROM proposals
WHERE ($project IS NULL OR project_id = $project)
  AND ($source IS NULL OR source = $source)
  AND ($include_trashed OR NOT coalesce(trashed, false))
ORDER BY votes_count DESC NULLS LAST, source, proposal_id
LIMIT $limit
