-- staging.step_phases: the phase of each step. CollectStep = deposit;
-- SelectionStep = vote when at least one published vote on one of its
-- proposals falls in its time range (an open bound matches), else
-- selection; ConsultationStep = consultation; QuestionnaireStep =
-- questionnaire; any other type = other.
WITH voted AS (
    SELECT DISTINCT ps.source, ps.step_id
    FROM staging.proposal_selections ps
    JOIN staging.steps st ON st.source = ps.source AND st.step_id = ps.step_id
    JOIN staging.proposal_votes v ON v.source = ps.source AND v.proposal_id = ps.proposal_id
    WHERE st.step_type = 'SelectionStep'
      AND v.published
      AND (st.start_at IS NULL OR v.created_at >= st.start_at)
      AND (st.end_at IS NULL OR v.created_at <= st.end_at)
)
SELECT
    st.source,
    st.step_id,
    CASE st.step_type
        WHEN 'CollectStep' THEN 'deposit'
        WHEN 'SelectionStep' THEN CASE WHEN voted.step_id IS NOT NULL THEN 'vote' ELSE 'selection' END
        WHEN 'ConsultationStep' THEN 'consultation'
        WHEN 'QuestionnaireStep' THEN 'questionnaire'
        ELSE 'other'
    END AS phase
FROM staging.steps st
LEFT JOIN voted USING (source, step_id)
