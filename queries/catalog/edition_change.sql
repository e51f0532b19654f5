/* ---
title: Évolution d'une édition à l'autre
description: >-
  Pour chaque collectivité, les votes, participants et propositions de chaque
  édition comparés à l'édition précédente (variation en pourcentage ; vide pour
  la première édition ou quand la précédente valait zéro).
params:
  - {name: collectivity, type: string, description: "Code de la collectivité ; toutes par défaut."}
example: "collectivity=40"
--- */
SELECT collectivity_code, collectivity_name, edition, project_id,
       votes,
       lag(votes) OVER w AS previous_votes,
       round(100.0 * (votes - lag(votes) OVER w) / nullif(lag(votes) OVER w, 0), 1) AS votes_change_pct,
       participants,
       lag(participants) OVER w AS previous_participants,
       round(100.0 * (participants - lag(participants) OVER w) / nullif(lag(participants) OVER w, 0), 1) AS participants_change_pct,
       proposals,
       lag(proposals) OVER w AS previous_proposals
FROM budget_comparison
WHERE ($collectivity IS NULL OR collectivity_code = $collectivity)
WINDOW w AS (PARTITION BY collectivity_code ORDER BY edition, project_id)
ORDER BY collectivity_code, edition, project_id
