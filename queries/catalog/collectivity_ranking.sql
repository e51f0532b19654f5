/* ---
title: Classement des collectivités sur un indicateur
description: >-
  Classement des collectivités (dernière édition de chacune) sur un indicateur de
  la comparaison des budgets participatifs, parmi les collectivités du même type
  (départements entre eux, régions entre elles), avec la médiane des collectivités
  comparées.
  Indicateurs : votes_per_1k, participation_rate, proposals_per_10k,
  eur_per_inhabitant, winner_rate, votes_gini…
params:
  - {name: metric, type: string, default: votes_per_1k, enum: ranking_metric, description: "Indicateur (colonne metric du jeu collectivity_ranking)."}
  - {name: limit, type: int, default: 20, description: "Nombre de collectivités affichées."}
example: "metric=participation_rate&limit=10"
--- */
SELECT rank, collectivity_code, collectivity_name, edition, value, benchmark, peers, comparable, peer_group, in_progress
FROM collectivity_ranking
WHERE metric = $metric
ORDER BY peer_group, rank, collectivity_code
LIMIT $limit
