-- metrics.collectivity_ranking: for the latest edition of each
-- collectivity (highest edition label, then project id), each comparison
-- metric of metrics.budget_comparison ranked across collectivities
-- (rank 1 = highest value, ties share a rank) with the national benchmark
-- = median of the ranked values. A value is ranked when it is not NULL and
-- comparable: orientation exercises (comparable_on = 'participation') are
-- comparable on participation_rate only. peers = ranked collectivities.
WITH latest AS (
    SELECT *
    FROM metrics.budget_comparison
    QUALIFY row_number() OVER (PARTITION BY collectivity_code ORDER BY edition DESC NULLS LAST, project_id DESC) = 1
), long AS (
    SELECT l.collectivity_code, l.collectivity_name, l.source, l.project_id, l.edition, l.comparable_on, m.metric,
           CASE m.metric
               WHEN 'proposals_per_10k' THEN l.proposals_per_10k
               WHEN 'votes_per_1k' THEN l.votes_per_1k
               WHEN 'participation_rate' THEN l.participation_rate
               WHEN 'winner_rate' THEN l.winner_rate
               WHEN 'cost_to_envelope' THEN l.cost_to_envelope
               WHEN 'eur_per_inhabitant' THEN l.eur_per_inhabitant
               WHEN 'votes_gini' THEN l.votes_gini
           END AS value
    FROM latest l
    CROSS JOIN (VALUES ('proposals_per_10k'), ('votes_per_1k'), ('participation_rate'), ('winner_rate'),
                       ('cost_to_envelope'), ('eur_per_inhabitant'), ('votes_gini')) m(metric)
), flagged AS (
    SELECT *,
           (comparable_on = 'all' OR metric = 'participation_rate') AS comparable,
           (comparable_on = 'all' OR metric = 'participation_rate') AND value IS NOT NULL AS ranked
    FROM long
)
SELECT
    collectivity_code,
    collectivity_name,
    source,
    project_id,
    edition,
    metric,
    CAST(value AS DOUBLE) AS value,
    CAST(CASE WHEN ranked THEN rank() OVER (PARTITION BY metric, ranked ORDER BY value DESC) END AS INTEGER) AS rank,
    CAST(count(*) FILTER (WHERE ranked) OVER (PARTITION BY metric) AS INTEGER) AS peers,
    CAST(median(value) FILTER (WHERE ranked) OVER (PARTITION BY metric) AS DOUBLE) AS benchmark,
    comparable
FROM flagged
ORDER BY metric, collectivity_code
