-- A source configured with a cost question (sources[].cost_question)
-- whose proposals have form answers finds that question in its forms
-- (staging.cost_questions) and publishes estimated costs. A failure means
-- the configured label matches no form question, or that no cost could be
-- read at all: fix cost_question (the report lists the forms' questions).
SELECT s.source, s.cost_question,
       (SELECT string_agg(DISTINCT r.question_title, ' | ') FROM staging.proposal_responses r WHERE r.source = s.source) AS form_questions
FROM staging.sources s
WHERE s.cost_question IS NOT NULL
  AND EXISTS (SELECT 1 FROM staging.proposal_responses r WHERE r.source = s.source)
  AND (NOT EXISTS (SELECT 1 FROM staging.cost_questions q WHERE q.source = s.source)
       OR NOT EXISTS (SELECT 1 FROM core.proposals p WHERE p.source = s.source AND p.estimated_cost_eur IS NOT NULL))
