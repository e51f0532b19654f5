-- staging.proposal_responses: one row per answer of a proposal's custom
-- form (payload.responses). Multiple-choice values, a JSON object encoded
-- in a string ({"labels": [...], "other": ...}), are decoded into labels
-- and other; value keeps the raw string.
WITH r AS (
    SELECT p.source, p.proposal_id, unnest(json_extract(rp.payload, '$.responses[*]')) AS resp
    FROM raw.proposals rp
    JOIN staging.proposals p ON p.source = rp.source AND p.proposal_id = rp.id
    WHERE rp.deleted_run IS NULL
), v AS (
    SELECT
        source,
        proposal_id,
        resp->>'$.__typename' AS response_type,
        resp->>'$.question.id' AS question_id,
        resp->>'$.question.title' AS question_title,
        resp->>'$.value' AS value,
        resp->>'$.formattedValue' AS formatted_value
    FROM r
)
SELECT
    v.*,
    CASE WHEN json_valid(value) AND json_type(CAST(value AS JSON)) = 'OBJECT'
              AND json_type(CAST(value AS JSON), '$.labels') = 'ARRAY'
         THEN from_json(json_extract(CAST(value AS JSON), '$.labels'), '["VARCHAR"]') END AS labels,
    CASE WHEN json_valid(value) AND json_type(CAST(value AS JSON)) = 'OBJECT'
         THEN json_extract_string(CAST(value AS JSON), '$.other') END AS other
FROM v
