-- core.steps: one row per step of a project with its phase
-- (staging.step_phases), unknown step types included.
SELECT
    st.source,
    st.step_id,
    st.project_id,
    st.step_type,
    ph.phase,
    st.title,
    st.state,
    st.start_at,
    st.end_at,
    st.position
FROM staging.steps st
JOIN staging.step_phases ph USING (source, step_id)
