-- core.events: one row per enabled event; project_id is the first linked
-- project in id order (core.event_projects has every link).
SELECT
    e.source,
    e.event_id,
    e.title,
    e.url,
    e.start_at,
    e.end_at,
    (SELECT min(ep.project_id) FROM staging.event_projects ep
      WHERE ep.source = e.source AND ep.event_id = e.event_id) AS project_id,
    e.latitude,
    e.longitude
FROM staging.events e
WHERE e.enabled
