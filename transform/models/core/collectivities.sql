-- core.collectivities: one row per collectivity running a source, with its
-- INSEE population (see staging.sources for how a source is mapped).
SELECT
    CAST(collectivity_code AS VARCHAR) AS collectivity_code,
    CAST(any_value(collectivity_name ORDER BY source) AS VARCHAR) AS collectivity_name,
    CAST(any_value(collectivity_kind ORDER BY source) AS VARCHAR) AS collectivity_kind,
    CAST(max(population) AS BIGINT) AS population,
    CAST(max(population_year) AS INTEGER) AS population_year,
    CAST(any_value(region_code ORDER BY source) AS VARCHAR) AS region_code
FROM staging.sources
GROUP BY collectivity_code
