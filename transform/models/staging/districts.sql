-- staging.districts: alive global districts. The GeoJSON outline comes as
-- JSON encoded in a string; it is decoded into geometry (JSON) when valid.
SELECT
    d.source,
    d.id AS district_id,
    d.payload->>'$.name' AS name,
    d.payload->>'$.slug' AS slug,
    CASE WHEN json_valid(d.payload->>'$.geojson') THEN CAST(d.payload->>'$.geojson' AS JSON) END AS geometry
FROM raw.districts d
WHERE d.deleted_run IS NULL
QUALIFY row_number() OVER (PARTITION BY d.source, d.id ORDER BY d.last_seen_run DESC) = 1
