-- metrics.collectivity_ranking: for the latest finished edition of each
-- collectivity (else its latest edition; highest edition label, then
-- project id), each comparison metric of metrics.budget_comparison ranked
-- among the collectivities of the same kind (départements with
-- départements, régions with régions: peer_group = collectivity_kind).
-- rank 1 = highest value, ties share a rank; benchmark = median of the
-- ranked values of the peer group; peers = ranked collectivities of the
-- group. A value is ranked when it is not NULL, its edition is finished
-- and it is comparable: orientation exercises (comparable_on =
-- 'participation') are comparable on participation_rate only. This is
-- the one rank rule: the dashboards and the query API read it, never
-- recompute it.
WITH latest AS (
    SELECT *
    FROM metrics.budget_comparison
    QUALIFY row_number() OVER (PARTITION BY collectivity_code ORDER BY in_progress, edition DESC NULLS LAST, project_id DESC) = 1
), long AS (
    SELECT l.collectivity_code, l.collectivity_name, l.collectivity_kind, l.source, l.project_id, l.edition,
           l.comparable_on, l.in_progress, m.metric,
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
           (comparable_on = 'all' OR metric = 'participation_rate') AND value IS NOT NULL AND NOT in_progress AS ranked
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
    CAST(CASE WHEN ranked THEN rank() OVER (PARTITION BY metric, collectivity_kind, ranked ORDER BY value DESC) END AS INTEGER) AS rank,
    CAST(count(*) FILTER (WHERE ranked) OVER (PARTITION BY metric, collectivity_kind) AS INTEGER) AS peers,
    CAST(median(value) FILTER (WHERE ranked) OVER (PARTITION BY metric, collectivity_kind) AS DOUBLE) AS benchmark,
    comparable,
    collectivity_kind AS peer_group,
    in_progress
FROM flagged
ORDER BY metric, collectivity_code
