-- staging.cost_questions: the proposal-form questions that hold each
-- source's estimated cost, found from the configured label
-- (sources[].cost_question) as the platform shows it. Titles and the label
-- are compared by staging.label_key (case, accents and punctuation
-- ignored): 'exact' when the keys are equal, 'prefix' when the title's key
-- starts with the label's key then a word boundary ("Coût estimé" matches
-- "Coût estimé de votre projet (en euros)"). Per source, the best match
-- wins (exact before prefix, then the title with most answers, then the
-- title); every question with that title is kept, since each project's
-- form has its own question ids. One row per (source, question_id).
WITH candidates AS (
    SELECT r.source, r.question_id, r.question_title,
           staging.label_key(r.question_title) AS title_key,
           CASE WHEN staging.label_key(r.question_title) = staging.label_key(s.cost_question) THEN 'exact'
                ELSE 'prefix' END AS match,
           count(*) AS answers
    FROM staging.proposal_responses r
    JOIN staging.sources s USING (source)
    WHERE s.cost_question IS NOT NULL AND staging.label_key(s.cost_question) <> ''
      AND (staging.label_key(r.question_title) = staging.label_key(s.cost_question)
           OR starts_with(staging.label_key(r.question_title), staging.label_key(s.cost_question) || ' '))
    GROUP BY ALL
), best AS (
    SELECT source, arg_min(title_key, (match <> 'exact', -answers, title_key)) AS title_key
    FROM (SELECT source, title_key, match, sum(answers) AS answers FROM candidates GROUP BY ALL)
    GROUP BY source
)
SELECT c.source, c.question_id, c.question_title, c.match, c.answers
FROM candidates c
JOIN best b USING (source, title_key)
