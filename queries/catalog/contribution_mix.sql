/* ---
title: Nature des contributions (arguments pour et contre)
description: >-
  Par projet : opinions, amendements, arguments pour et contre, sources et
  réponses aux questionnaires (hors corbeille), et la part d'arguments « pour ».
params:
  - {name: project, type: string, description: "Identifiant du projet ; tous par défaut."}
  - {name: source, type: string, description: "Plateforme ; toutes par défaut."}
example: ""
--- */
WITH mix AS (
    SELECT source, project_id,
           count(*) FILTER (WHERE contribution_type = 'opinion')::BIGINT AS opinions,
           count(*) FILTER (WHERE contribution_type = 'version')::BIGINT AS versions,
           count(*) FILTER (WHERE contribution_type = 'argument' AND argument_type = 'FOR')::BIGINT AS arguments_for,
           count(*) FILTER (WHERE contribution_type = 'argument' AND argument_type = 'AGAINST')::BIGINT AS arguments_against,
           count(*) FILTER (WHERE contribution_type = 'source')::BIGINT AS sources,
           count(*) FILTER (WHERE contribution_type = 'reply')::BIGINT AS replies,
           count(*)::BIGINT AS total
    FROM contributions
    WHERE NOT coalesce(trashed, false)
      AND ($project IS NULL OR project_id = $project)
      AND ($source IS NULL OR source = $source)
    GROUP BY source, project_id
)
SELECT *, round(arguments_for / nullif(arguments_for + arguments_against, 0), 4) AS for_share
FROM mix
ORDER BY source, project_id
