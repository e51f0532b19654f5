-- metrics.budget_comparison: one row per collectivity × edition (budget
-- editions of staging.project_models). Every column follows its catalogue
-- description; in short:
-- proposals = edition proposals not in the trash; votes = published votes
-- on them; participants = max(API contributors.totalCount, distinct known
-- authors of proposals and replies), method 'contributors' on a tie;
-- winners among the proposals; estimated_cost_total_eur = sum of the
-- winners' known costs (NULL when none is known); votes_gini = Gini of the
-- votes across the proposals, (2 Σ i·x(i)) / (n Σ x) − (n + 1) / n with x
-- sorted ascending, NULL without votes; per-inhabitant rates NULL without
-- population; comparable_on = 'participation' for orientations, else 'all'.
-- in_progress: a deposit or vote step of the edition is not closed yet
-- (a selection step such as "Lauréats" often stays open for ever: it does
-- not count); its winners are not decided, so winner_rate and
-- cost_to_envelope are NULL (never 0 % for a vote still running).
WITH ed AS (
    SELECT m.source, m.project_id, m.edition, m.exercise_model, m.exercise_model_inferred, m.envelope_eur,
           p.title AS project_title, p.api_contributors_count,
           c.collectivity_code, c.collectivity_name, c.collectivity_kind, c.population, c.population_year
    FROM staging.project_models m
    JOIN core.projects p USING (source, project_id)
    JOIN core.collectivities c ON c.collectivity_code = p.collectivity_code
    WHERE m.is_budget
), agg AS (
    SELECT
        source,
        project_id,
        count(*) AS proposals,
        sum(votes) AS votes,
        count(*) FILTER (WHERE winner) AS winners,
        sum(estimated_cost_eur) FILTER (WHERE winner) AS cost_total,
        count(estimated_cost_eur) FILTER (WHERE winner) AS winners_cost_known
    FROM intermediate.edition_proposals
    GROUP BY ALL
), gini AS (
    SELECT
        source,
        project_id,
        CASE WHEN sum(votes) > 0
             THEN 2.0 * sum(rk * votes) / (count(*) * sum(votes)) - (count(*) + 1.0) / count(*) END AS votes_gini
    FROM (SELECT source, project_id, votes,
                 row_number() OVER (PARTITION BY source, project_id ORDER BY votes) AS rk
          FROM intermediate.edition_proposals)
    GROUP BY ALL
), authors AS (
    SELECT source, project_id, count(DISTINCT author_key) AS authors
    FROM (SELECT source, project_id, author_key FROM core.proposals
          UNION ALL
          SELECT source, project_id, author_key FROM core.contributions)
    WHERE author_key IS NOT NULL
    GROUP BY ALL
), progress AS (
    SELECT source, project_id,
           bool_or(phase IN ('deposit', 'vote') AND state IN ('OPENED', 'FUTURE')) AS in_progress
    FROM core.steps
    GROUP BY ALL
), base AS (
    SELECT
        ed.*,
        COALESCE(progress.in_progress, false) AS in_progress,
        COALESCE(agg.proposals, 0) AS proposals,
        COALESCE(agg.votes, 0) AS votes,
        COALESCE(agg.winners, 0) AS winners,
        agg.cost_total,
        COALESCE(agg.winners_cost_known, 0) AS winners_cost_known,
        gini.votes_gini,
        COALESCE(authors.authors, 0) AS authors
    FROM ed
    LEFT JOIN agg USING (source, project_id)
    LEFT JOIN gini USING (source, project_id)
    LEFT JOIN authors USING (source, project_id)
    LEFT JOIN progress USING (source, project_id)
)
SELECT
    source,
    collectivity_code,
    collectivity_name,
    collectivity_kind,
    population,
    population_year,
    project_id,
    project_title,
    edition,
    exercise_model,
    exercise_model_inferred,
    envelope_eur,
    CAST(proposals AS BIGINT) AS proposals,
    CASE WHEN population > 0 THEN proposals * 10000.0 / population END AS proposals_per_10k,
    CAST(votes AS BIGINT) AS votes,
    CASE WHEN population > 0 THEN votes * 1000.0 / population END AS votes_per_1k,
    CAST(greatest(COALESCE(api_contributors_count, 0), authors) AS BIGINT) AS participants,
    CASE WHEN COALESCE(api_contributors_count, 0) >= authors AND api_contributors_count IS NOT NULL
         THEN 'contributors' ELSE 'authors' END AS participants_method,
    CASE WHEN population > 0 THEN greatest(COALESCE(api_contributors_count, 0), authors) / CAST(population AS DOUBLE) END AS participation_rate,
    CAST(winners AS BIGINT) AS winners,
    CASE WHEN proposals > 0 AND NOT in_progress THEN winners / CAST(proposals AS DOUBLE) END AS winner_rate,
    CAST(cost_total AS BIGINT) AS estimated_cost_total_eur,
    CAST(winners_cost_known AS BIGINT) AS winners_cost_known,
    CASE WHEN envelope_eur > 0 AND NOT in_progress THEN cost_total / CAST(envelope_eur AS DOUBLE) END AS cost_to_envelope,
    CASE WHEN population > 0 THEN envelope_eur / CAST(population AS DOUBLE) END AS eur_per_inhabitant,
    CAST(votes_gini AS DOUBLE) AS votes_gini,
    CASE WHEN exercise_model = 'orientations' THEN 'participation' ELSE 'all' END AS comparable_on,
    in_progress
FROM base
ORDER BY collectivity_code, edition, project_id
