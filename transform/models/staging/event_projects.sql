-- staging.event_projects: alive links between alive events and alive projects.
SELECT DISTINCT ep.source, ep.event_id, ep.project_id
FROM raw.event_projects ep
JOIN staging.events e ON e.source = ep.source AND e.event_id = ep.event_id
JOIN staging.projects p ON p.source = ep.source AND p.project_id = ep.project_id
WHERE ep.deleted_run IS NULL
