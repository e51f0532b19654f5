-- Weekly totals = daily totals per source × project × step, and the last cumulative votes = the total.
WITH d AS (
    SELECT source, project_id, step_id, sum(proposals) AS p, sum(votes) AS v, sum(contributions) AS c, sum(replies) AS r,
           max(cumulative_votes) AS cv
    FROM metrics.participation_daily GROUP BY ALL
), w AS (
    SELECT source, project_id, step_id, sum(proposals) AS p, sum(votes) AS v, sum(contributions) AS c, sum(replies) AS r,
           max(cumulative_votes) AS cv
    FROM metrics.participation_weekly GROUP BY ALL
)
SELECT source, project_id, step_id, d.v AS daily_votes, w.v AS weekly_votes, d.cv AS daily_cumulative, w.cv AS weekly_cumulative
FROM d FULL JOIN w USING (source, project_id, step_id)
WHERE d.p IS DISTINCT FROM w.p OR d.v IS DISTINCT FROM w.v OR d.c IS DISTINCT FROM w.c OR d.r IS DISTINCT FROM w.r
   OR d.cv IS DISTINCT FROM w.cv OR d.cv IS DISTINCT FROM d.v
