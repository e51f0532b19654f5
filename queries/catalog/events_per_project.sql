/* ---
title: Événements par projet
description: >-
  Nombre d'événements (réunions publiques, ateliers…) liés à chaque projet, avec
  les dates du premier et du dernier. Les projets sans événement sont listés avec 0.
params:
  - {name: source, type: string, description: "Plateforme ; toutes par défaut."}
example: ""
--- */
SELECT p.source, p.project_id, p.title AS project_title,
       count(e.event_id)::BIGINT AS events,
       min(e.start_at) AS first_event_at,
       max(e.start_at) AS last_event_at
FROM projects AS p
LEFT JOIN event_projects AS ep ON ep.source = p.source AND ep.project_id = p.project_id
LEFT JOIN events AS e ON e.source = ep.source AND e.event_id = ep.event_id
WHERE ($source IS NULL OR p.source = $source)
GROUP BY p.source, p.project_id, p.title
ORDER BY events DESC, p.source, p.project_id
