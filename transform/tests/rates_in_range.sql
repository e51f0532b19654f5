-- Every rate, share and Gini coefficient is within [0, 1] (NULL allowed).
SELECT 'budget_comparison.participation_rate' AS metric, source, project_id, participation_rate AS value
FROM metrics.budget_comparison WHERE participation_rate NOT BETWEEN 0 AND 1
UNION ALL
SELECT 'budget_comparison.winner_rate', source, project_id, winner_rate
FROM metrics.budget_comparison WHERE winner_rate NOT BETWEEN 0 AND 1
UNION ALL
SELECT 'budget_comparison.votes_gini', source, project_id, votes_gini
FROM metrics.budget_comparison WHERE votes_gini NOT BETWEEN 0 AND 1
UNION ALL
SELECT 'phase_summary.votes_last_7_days_share', source, step_id, votes_last_7_days_share
FROM metrics.phase_summary WHERE votes_last_7_days_share NOT BETWEEN 0 AND 1
UNION ALL
SELECT 'budget_categories.proposals_share', source, project_id, proposals_share
FROM metrics.budget_categories WHERE proposals_share NOT BETWEEN 0 AND 1
UNION ALL
SELECT 'budget_categories.votes_share', source, project_id, votes_share
FROM metrics.budget_categories WHERE votes_share NOT BETWEEN 0 AND 1
