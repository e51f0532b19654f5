/* ---
title: Participation rapportée à la population
description: >-
  Votes, participants et propositions de chaque édition rapportés à la population
  Insee de la collectivité, du plus fort au plus faible nombre de votes par
  habitant. Exemple : quel département a le plus voté par habitant en 2024 ?
params:
  - {name: edition, type: string, description: "Édition (ex. « 2024 ») ; toutes par défaut."}
  - {name: kind, type: string, enum: collectivity_kind, description: "Type de collectivité : departement, region, commune ou other."}
  - {name: limit, type: int, default: 100, description: "Nombre de lignes."}
example: "edition=2024&kind=departement"
--- */
SELECT collectivity_code, collectivity_name, collectivity_kind, edition, project_id,
       population, votes,
       round(votes / nullif(population, 0), 6) AS votes_per_inhabitant,
       votes_per_1k, participants, participation_rate, proposals, proposals_per_10k
FROM budget_comparison
WHERE ($edition IS NULL OR edition = $edition)
  AND ($kind IS NULL OR collectivity_kind = $kind)
ORDER BY votes_per_inhabitant DESC NULLS LAST, collectivity_code, edition, project_id
LIMIT $limit
