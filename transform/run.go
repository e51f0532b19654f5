package transform

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
)

// Report tells what a Run built and checked.
type Report struct {
	Models   []ModelRun
	Tests    []TestResult
	Costs    []CostStats
	Duration time.Duration
}

// ModelRun is one built table.
type ModelRun struct {
	Name     string
	Rows     int64
	Duration time.Duration
}

// TestResult is one data test; Failures counts offending rows and Sample
// shows a few of them.
type TestResult struct {
	Name        string
	Description string
	Failures    int64
	Sample      []string
}

// CostStats counts, per source, where proposal costs came from.
// Unparsed counts form answers that were present but could not be read
// (left NULL, never guessed).
type CostStats struct {
	Source   string
	FromAPI  int64
	FromForm int64
	Unparsed int64
	Missing  int64
	// Label is the configured cost question ("" when none), Question the
	// form question chosen for it ("" when none matched) and Match how it
	// matched ("exact" or "prefix", staging.cost_questions).
	Label, Question, Match string
}

// Failed returns the failing data tests.
func (r *Report) Failed() []TestResult {
	var out []TestResult
	for _, t := range r.Tests {
		if t.Failures > 0 {
			out = append(out, t)
		}
	}
	return out
}

// String renders the report for a terminal or a log.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "transform: %d models, %d data tests, %d failed, %s\n", len(r.Models), len(r.Tests), len(r.Failed()), r.Duration.Round(time.Millisecond))
	for _, c := range r.Costs {
		fmt.Fprintf(&b, "  costs %s: %d from the API, %d from the form, %d unparsed, %d unknown\n", c.Source, c.FromAPI, c.FromForm, c.Unparsed, c.Missing)
		switch {
		case c.Label != "" && c.Question != "":
			fmt.Fprintf(&b, "    cost question %q (%s match of %q)\n", c.Question, c.Match, c.Label)
		case c.Label != "":
			fmt.Fprintf(&b, "    no form question matches the cost question %q\n", c.Label)
		}
	}
	for _, t := range r.Failed() {
		fmt.Fprintf(&b, "  FAIL %s (%d rows): %s\n", t.Name, t.Failures, firstLine(t.Description))
		for _, s := range t.Sample {
			fmt.Fprintf(&b, "    %s\n", s)
		}
	}
	return b.String()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// ErrDataTests is wrapped by the error Run returns when data tests fail.
var ErrDataTests = errors.New("data tests failed")

// seedNames are the tables and macros Run creates before the models.
var seedNames = []string{
	"staging.seed_collectivities", "staging.seed_collectivity_slugs", "staging.seed_defaults",
	"staging.seed_sources", "staging.seed_projects", "staging.local_ts", "staging.utc_ts", "staging.local_day",
	"staging.label_key",
}

// Run builds every model and runs the data tests in one transaction on
// one connection of db. On any failure (a model error or a failing data
// test) it rolls back, so the previous tables stay in place, and returns an
// error; the report is returned in both cases when the models ran.
func Run(ctx context.Context, db *sql.DB, opts Options) (*Report, error) {
	start := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if len(opts.AuthorKeySecret) == 0 {
		return nil, errors.New("transform: Options.AuthorKeySecret is required")
	}
	if err := validateOptions(opts); err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	models, err := Models(seedNames)
	if err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	tests, err := SQLTests()
	if err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("transform: connection: %w", err)
	}
	defer conn.Close()
	if err := registerUDFs(ctx, conn, opts.AuthorKeySecret); err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	if err := checkRawTables(ctx, conn); err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return nil, fmt.Errorf("transform: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
				log.Error("transform: rollback", "err", err)
			}
		}
	}()
	if err := createSeeds(ctx, conn, opts); err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	rep := &Report{}
	for _, m := range models {
		t0 := time.Now()
		if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TABLE "+m.Name+" AS\n"+m.SQL); err != nil {
			return nil, fmt.Errorf("transform: model %s: %w", m.Name, err)
		}
		var n int64
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+m.Name).Scan(&n); err != nil {
			return nil, fmt.Errorf("transform: count %s: %w", m.Name, err)
		}
		rep.Models = append(rep.Models, ModelRun{Name: m.Name, Rows: n, Duration: time.Since(t0)})
		log.Debug("transform: model built", "model", m.Name, "rows", n, "duration", time.Since(t0))
	}
	if rep.Costs, err = costStats(ctx, conn); err != nil {
		return rep, fmt.Errorf("transform: %w", err)
	}
	cat, err := datasets.Load()
	if err != nil {
		return rep, fmt.Errorf("transform: %w", err)
	}
	if rep.Tests, err = runDataTests(ctx, conn, cat, tests); err != nil {
		return rep, fmt.Errorf("transform: %w", err)
	}
	rep.Duration = time.Since(start)
	if failed := rep.Failed(); len(failed) > 0 {
		return rep, fmt.Errorf("transform: %w (rolled back):\n%s", ErrDataTests, rep.String())
	}
	if err := recordKeyChecks(ctx, conn, cat, rep); err != nil {
		return rep, fmt.Errorf("transform: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return rep, fmt.Errorf("transform: commit: %w", err)
	}
	committed = true
	rep.Duration = time.Since(start)
	var unparsed int64
	for _, c := range rep.Costs {
		unparsed += c.Unparsed
		switch {
		case c.Label != "" && c.Question != "":
			log.Info("transform: cost question", "source", c.Source, "configured", c.Label, "question", c.Question, "match", c.Match, "costs_from_form", c.FromForm)
		case c.Label != "":
			log.Warn("transform: no form question matches the configured cost question", "source", c.Source, "configured", c.Label)
		}
	}
	log.Info("transform: done", "models", len(rep.Models), "tests", len(rep.Tests), "unparsed_costs", unparsed, "duration", rep.Duration)
	return rep, nil
}

// recordKeyChecks writes datasets.KeyChecksTable, in the transaction that
// builds the tables: the datasets whose primary key the data tests found
// unique and not null, with their row count, key sum and content sum.
func recordKeyChecks(ctx context.Context, conn *sql.Conn, cat *datasets.Contract, rep *Report) error {
	passed := map[string]bool{}
	for _, t := range rep.Tests {
		passed[t.Name] = t.Failures == 0
	}
	built := map[string]bool{}
	for _, m := range rep.Models {
		built[m.Name] = true
	}
	stmts := []string{datasets.KeyChecksDDL}
	for _, d := range cat.Datasets {
		if len(d.PrimaryKey) == 0 || !built[d.Table] || !passed[d.Name+".primary_key_unique"] || !passed[d.Name+".primary_key_not_null"] {
			continue
		}
		stmts = append(stmts, d.RecordKeyCheckSQL())
	}
	if err := duckdbx.Exec(ctx, conn, stmts...); err != nil {
		return fmt.Errorf("record key checks: %w", err)
	}
	return nil
}

func validateOptions(opts Options) error {
	seen := map[string]bool{}
	for _, s := range opts.Sources {
		if s.Name == "" {
			return errors.New("a source has no name")
		}
		if seen[s.Name] {
			return fmt.Errorf("source %s configured twice", s.Name)
		}
		seen[s.Name] = true
		for _, p := range s.Projects {
			if p.ProjectID == "" {
				return fmt.Errorf("source %s: a project has no id", s.Name)
			}
			if p.ExerciseModel != "" && !slices.Contains(ExerciseModels(), p.ExerciseModel) {
				return fmt.Errorf("source %s project %s: exercise model %q is not one of %s", s.Name, p.ProjectID, p.ExerciseModel, strings.Join(ExerciseModels(), ", "))
			}
		}
	}
	return nil
}

// rawTables are the ingester's tables the models read.
var rawTables = []string{"sources", "projects", "steps", "proposals", "proposal_steps", "proposal_votes", "replies", "contributions", "events", "event_projects", "users", "districts"}

func checkRawTables(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'`)
	if err != nil {
		return fmt.Errorf("list raw tables: %w", err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return fmt.Errorf("list raw tables: %w", err)
		}
		have[n] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list raw tables: %w", err)
	}
	var missing []string
	for _, t := range rawTables {
		if !have[t] {
			missing = append(missing, "raw."+t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing raw tables %s (run ingest first)", strings.Join(missing, ", "))
	}
	return nil
}

// createSeeds creates the schemas, the timestamp macros, the INSEE
// reference and the configuration tables the models read.
func createSeeds(ctx context.Context, conn *sql.Conn, opts Options) error {
	ddl := []string{
		"CREATE SCHEMA IF NOT EXISTS staging",
		"CREATE SCHEMA IF NOT EXISTS core",
		"CREATE SCHEMA IF NOT EXISTS intermediate",
		"CREATE SCHEMA IF NOT EXISTS metrics",
		// A label as a reader compares it: lower case, no accents, words
		// separated by one space ("Coût estimé (€) :" → "cout estime").
		`CREATE OR REPLACE MACRO staging.label_key(s) AS trim(regexp_replace(lower(strip_accents(COALESCE(s, ''))), '[^a-z0-9]+', ' ', 'g'))`,
		`CREATE OR REPLACE TABLE staging.seed_collectivities (code VARCHAR PRIMARY KEY, name VARCHAR, kind VARCHAR, region_code VARCHAR, population BIGINT, population_year INTEGER)`,
		`CREATE OR REPLACE TABLE staging.seed_collectivity_slugs (slug VARCHAR PRIMARY KEY, code VARCHAR)`,
		`CREATE OR REPLACE TABLE staging.seed_defaults (winner_statuses VARCHAR[])`,
		`CREATE OR REPLACE TABLE staging.seed_sources (source VARCHAR PRIMARY KEY, collectivity_code VARCHAR, collectivity_kind VARCHAR, collectivity_name VARCHAR, population BIGINT, population_year INTEGER, winner_statuses VARCHAR[], cost_question VARCHAR)`,
		`CREATE OR REPLACE TABLE staging.seed_projects (source VARCHAR, project_id VARCHAR, edition VARCHAR, envelope_eur BIGINT, exercise_model VARCHAR, winner_statuses VARCHAR[], PRIMARY KEY (source, project_id))`,
	}
	if err := duckdbx.Exec(ctx, conn, ddl...); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if err := createTimeMacros(ctx, conn); err != nil {
		return err
	}
	ref, err := ReferenceCollectivities()
	if err != nil {
		return err
	}
	var refArgs []any
	for _, c := range ref {
		refArgs = append(refArgs, c.Code, c.Name, c.Kind, c.RegionCode, c.Population, c.PopulationYear)
	}
	if err := insertRows(ctx, conn, "staging.seed_collectivities", "(?, ?, ?, NULLIF(?, ''), ?, ?)", 6, refArgs); err != nil {
		return err
	}
	var slugArgs []any
	for slug, code := range CollectivitySlugs(ref) {
		slugArgs = append(slugArgs, slug, code)
	}
	if err := insertRows(ctx, conn, "staging.seed_collectivity_slugs", "(?, ?)", 2, slugArgs); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO staging.seed_defaults SELECT from_json(?, '["VARCHAR"]')`, jsonList(DefaultWinnerStatuses())); err != nil {
		return fmt.Errorf("seed defaults: %w", err)
	}
	for _, s := range opts.Sources {
		if _, err := conn.ExecContext(ctx, `INSERT INTO staging.seed_sources VALUES (?, NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, 0), NULLIF(?, 0), from_json(NULLIF(?, ''), '["VARCHAR"]'), NULLIF(?, ''))`,
			s.Name, s.CollectivityCode, s.CollectivityKind, s.CollectivityName, s.Population, s.PopulationYear, jsonList(s.WinnerStatuses), s.CostQuestion); err != nil {
			return fmt.Errorf("seed source %s: %w", s.Name, err)
		}
		for _, p := range s.Projects {
			if _, err := conn.ExecContext(ctx, `INSERT INTO staging.seed_projects VALUES (?, ?, NULLIF(?, ''), NULLIF(?, 0), NULLIF(?, ''), from_json(NULLIF(?, ''), '["VARCHAR"]'))`,
				s.Name, p.ProjectID, p.Edition, p.EnvelopeEUR, p.ExerciseModel, jsonList(p.WinnerStatuses)); err != nil {
				return fmt.Errorf("seed project %s/%s: %w", s.Name, p.ProjectID, err)
			}
		}
	}
	return nil
}

// createTimeMacros creates staging.utc_ts(s, tz), the UTC instant of the
// wall-clock string s of time zone tz, and staging.local_day(ts, tz), the
// local calendar day of instant ts. Both go through ICU; a time zone given
// as a constant is about ten times faster than one read from a column, so
// the macros branch on the sources' zones (known before the models run)
// with a constant per branch.
//
// DST (ICU rules): in the spring-forward gap the offset in force before the
// change is used (02:30 Paris on 2023-03-26 → 01:30Z); in the repeated
// autumn hour, the second occurrence (standard time: 02:30 on 2023-10-29 →
// 01:30Z).
func createTimeMacros(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, `SELECT DISTINCT COALESCE(NULLIF(trim(timezone), ''), 'Europe/Paris') FROM raw.sources
		UNION SELECT 'Europe/Paris' ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("source time zones: %w", err)
	}
	var zones []string
	for rows.Next() {
		var z string
		if err := rows.Scan(&z); err != nil {
			rows.Close()
			return fmt.Errorf("source time zones: %w", err)
		}
		zones = append(zones, z)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("source time zones: %w", err)
	}
	var utc, day strings.Builder
	for _, z := range zones {
		lit := duckdbx.Quote(z)
		fmt.Fprintf(&utc, " WHEN %s THEN timezone(%s, staging.local_ts(s))", lit, lit)
		fmt.Fprintf(&day, " WHEN %s THEN CAST(timezone(%s, ts) AS DATE)", lit, lit)
	}
	if err := duckdbx.Exec(ctx, conn,
		// Wall-clock strings of the instance ("YYYY-MM-DD HH:MM:SS").
		`CREATE OR REPLACE MACRO staging.local_ts(s) AS try_strptime(CAST(s AS VARCHAR), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d'])`,
		"CREATE OR REPLACE MACRO staging.utc_ts(s, tz) AS CASE tz"+utc.String()+" ELSE timezone(tz, staging.local_ts(s)) END",
		"CREATE OR REPLACE MACRO staging.local_day(ts, tz) AS CASE tz"+day.String()+" ELSE CAST(timezone(tz, ts) AS DATE) END",
	); err != nil {
		return fmt.Errorf("time macros: %w", err)
	}
	return nil
}

// insertRows inserts len(args)/width rows into table with one statement.
func insertRows(ctx context.Context, conn *sql.Conn, table, row string, width int, args []any) error {
	if len(args) == 0 {
		return nil
	}
	rows := make([]string, len(args)/width)
	for i := range rows {
		rows[i] = row
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO "+table+" VALUES "+strings.Join(rows, ", "), args...); err != nil {
		return fmt.Errorf("seed %s: %w", table, err)
	}
	return nil
}

// jsonList encodes a non-empty list as JSON, and an empty one as "".
func jsonList(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	b, _ := json.Marshal(xs)
	return string(b)
}

func costStats(ctx context.Context, conn *sql.Conn) ([]CostStats, error) {
	rows, err := conn.QueryContext(ctx, `
		WITH q AS (
		    SELECT source, min(question_title) AS question, min(match) AS match
		    FROM staging.cost_questions GROUP BY source
		)
		SELECT c.source,
		       count(*) FILTER (WHERE cost_source = 'api'),
		       count(*) FILTER (WHERE cost_source = 'form'),
		       count(*) FILTER (WHERE cost_unparsed),
		       count(*) FILTER (WHERE estimated_cost_eur IS NULL),
		       COALESCE(any_value(s.cost_question), ''), COALESCE(any_value(q.question), ''), COALESCE(any_value(q.match), '')
		FROM staging.proposal_costs c
		JOIN staging.sources s USING (source)
		LEFT JOIN q USING (source)
		GROUP BY c.source ORDER BY c.source`)
	if err != nil {
		return nil, fmt.Errorf("cost statistics: %w", err)
	}
	defer rows.Close()
	var out []CostStats
	for rows.Next() {
		var c CostStats
		if err := rows.Scan(&c.Source, &c.FromAPI, &c.FromForm, &c.Unparsed, &c.Missing, &c.Label, &c.Question, &c.Match); err != nil {
			return nil, fmt.Errorf("cost statistics: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
