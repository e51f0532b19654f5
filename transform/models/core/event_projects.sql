-- core.event_projects: one row per link between an enabled event and a project.
SELECT ep.source, ep.event_id, ep.project_id
FROM staging.event_projects ep
JOIN core.events e USING (source, event_id)
