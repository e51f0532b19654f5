-- staging.proposal_costs: the estimated cost of each proposal and where it
-- comes from. 'api' = estimatedCost (decision > assessment > analyses);
-- else 'form' = the answer to the source's cost question
-- (staging.cost_questions) parsed by capstat_parse_cost ("250 000 €",
-- "1.5 M€", "12k"…); else NULL.
-- cost_unparsed marks a present form answer that could not be read: it
-- stays NULL (never guessed) and is counted in the run report.
WITH form AS (
    SELECT r.source, r.proposal_id,
           first(COALESCE(NULLIF(trim(r.value), ''), r.formatted_value) ORDER BY r.question_id) AS cost_text
    FROM staging.proposal_responses r
    JOIN staging.cost_questions q USING (source, question_id)
    GROUP BY ALL
), parsed AS (
    SELECT p.source, p.proposal_id, p.api_cost, f.cost_text,
           capstat_parse_cost(f.cost_text) AS form_cost
    FROM staging.proposals p
    LEFT JOIN form f USING (source, proposal_id)
)
SELECT
    source,
    proposal_id,
    api_cost,
    cost_text,
    form_cost,
    COALESCE(api_cost, form_cost) AS estimated_cost_eur,
    CASE WHEN api_cost IS NOT NULL THEN 'api' WHEN form_cost IS NOT NULL THEN 'form' END AS cost_source,
    (api_cost IS NULL AND NULLIF(trim(cost_text), '') IS NOT NULL AND form_cost IS NULL) AS cost_unparsed
FROM parsed
