-- Enumerated columns hold only their documented values.
SELECT 'steps.phase' AS col, source, step_id AS id, phase AS value FROM core.steps
WHERE phase NOT IN ('deposit', 'selection', 'vote', 'consultation', 'questionnaire', 'other')
UNION ALL
SELECT 'projects.exercise_model', source, project_id, exercise_model FROM core.projects
WHERE exercise_model NOT IN ('bp', 'bp-thematique', 'appel-a-projets', 'orientations', 'other')
UNION ALL
SELECT 'proposals.cost_source', source, proposal_id, cost_source FROM core.proposals
WHERE cost_source NOT IN ('api', 'form')
UNION ALL
SELECT 'budget_comparison.participants_method', source, project_id, participants_method FROM metrics.budget_comparison
WHERE participants_method NOT IN ('contributors', 'authors')
UNION ALL
SELECT 'budget_comparison.comparable_on', source, project_id, comparable_on FROM metrics.budget_comparison
WHERE comparable_on NOT IN ('all', 'participation')
