-- core.districts: one row per global district of a source; has_geometry
-- tells whether a valid GeoJSON outline is published.
SELECT
    source,
    district_id,
    name,
    geometry IS NOT NULL AS has_geometry
FROM staging.districts
