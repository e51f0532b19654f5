package transform

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
)

var testSecret = []byte("test-secret")

// fixtureDB opens an in-memory database holding the raw tables of
// testdata/raw_schema.sql filled with testdata/fixture.sql.
func fixtureDB(t *testing.T) *sql.DB {
	t.Helper()
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, f := range []string{"testdata/raw_schema.sql", "testdata/fixture.sql"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return db
}

func fixtureOptions() Options {
	return Options{
		AuthorKeySecret: testSecret,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sources: []SourceMeta{
			{Name: "landes", CostQuestion: "Coût estimé", Projects: []ProjectMeta{{ProjectID: "P1", EnvelopeEUR: 1_000_000}}},
			{Name: "occitanie", Projects: []ProjectMeta{{ProjectID: "P10", Edition: "2024"}}},
			{Name: "ville-test", CollectivityCode: "33999", CollectivityKind: "commune", CollectivityName: "Ville test",
				Population: 10000, PopulationYear: 2021, WinnerStatuses: []string{"Financé"},
				Projects: []ProjectMeta{{ProjectID: "P20", EnvelopeEUR: 50_000, ExerciseModel: "bp"}}},
		},
	}
}

// shared holds one transformed fixture database for the read-only tests.
var shared struct {
	once sync.Once
	db   *sql.DB
	rep  *Report
	err  error
}

// sharedFixture returns the fixture database after one Run, built once
// per test binary; tests must not modify it.
func sharedFixture(t *testing.T) (*sql.DB, *Report) {
	t.Helper()
	shared.once.Do(func() {
		ctx := context.Background()
		db, err := duckdbx.Open(ctx, "")
		if err != nil {
			shared.err = err
			return
		}
		for _, f := range []string{"testdata/raw_schema.sql", "testdata/fixture.sql"} {
			b, err := os.ReadFile(f)
			if err != nil {
				shared.err = err
				return
			}
			if _, err := db.ExecContext(ctx, string(b)); err != nil {
				shared.err = fmt.Errorf("%s: %w", f, err)
				return
			}
		}
		shared.db = db
		shared.rep, shared.err = Run(ctx, db, fixtureOptions())
	})
	if shared.err != nil {
		t.Fatalf("fixture Run: %v", shared.err)
	}
	return shared.db, shared.rep
}

// runFixture transforms a fresh fixture database the test may modify.
func runFixture(t *testing.T) (*sql.DB, *Report) {
	t.Helper()
	db := fixtureDB(t)
	rep, err := Run(context.Background(), db, fixtureOptions())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return db, rep
}

// query returns the first row of q as strings ("NULL" for NULL).
func query(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		t.Fatalf("%s: no row", q)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out := make([]string, len(cols))
	for i, v := range vals {
		out[i] = "NULL"
		if v.Valid {
			out[i] = v.String
		}
	}
	return out
}

func queryFloat(t *testing.T, db *sql.DB, q string, args ...any) sql.NullFloat64 {
	t.Helper()
	var f sql.NullFloat64
	if err := db.QueryRow(q, args...).Scan(&f); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return f
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestRunFixtureReport(t *testing.T) {
	_, rep := sharedFixture(t)
	if len(rep.Failed()) != 0 {
		t.Fatalf("failing data tests:\n%s", rep)
	}
	if len(rep.Tests) < 40 {
		t.Errorf("only %d data tests ran", len(rep.Tests))
	}
	var landes *CostStats
	for i := range rep.Costs {
		if rep.Costs[i].Source == "landes" {
			landes = &rep.Costs[i]
		}
	}
	// PR2 from the API, PR1 from the form, PR3 unparsed ("selon devis"),
	// PR3, PR4 and PR5 unknown.
	if landes == nil || *landes != (CostStats{Source: "landes", FromAPI: 1, FromForm: 1, Unparsed: 1, Missing: 3, Label: "Coût estimé", Question: "Coût estimé", Match: "exact"}) {
		t.Errorf("landes cost stats = %+v", landes)
	}
}

func TestCatalogueConformance(t *testing.T) {
	db, _ := sharedFixture(t)
	cat, err := datasets.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range cat.Datasets {
		schema, table, _ := strings.Cut(d.Table, ".")
		rows, err := db.Query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`, schema, table)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var n, ty string
			if err := rows.Scan(&n, &ty); err != nil {
				t.Fatal(err)
			}
			got = append(got, n+" "+ty)
		}
		rows.Close()
		var want []string
		for _, c := range d.Columns {
			ty := c.Type
			if ty == "TIMESTAMPTZ" {
				ty = "TIMESTAMP WITH TIME ZONE"
			}
			want = append(want, c.Name+" "+ty)
		}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("%s:\n got  %s\n want %s", d.Table, strings.Join(got, ", "), strings.Join(want, ", "))
		}
	}
}

func TestCollectivities(t *testing.T) {
	db, _ := sharedFixture(t)
	tests := []struct {
		code string
		want []string
	}{
		{"40", []string{"Landes", "departement", "433570", "2023", "R75"}},
		{"R76", []string{"Occitanie", "region", "6124653", "2023", "NULL"}},
		{"33999", []string{"Ville test", "commune", "10000", "2021", "NULL"}},
	}
	for _, tt := range tests {
		got := query(t, db, `SELECT collectivity_name, collectivity_kind, population, population_year, region_code FROM core.collectivities WHERE collectivity_code = ?`, tt.code)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("collectivity %s = %v, want %v", tt.code, got, tt.want)
		}
	}
	if got := query(t, db, `SELECT count(*) FROM core.collectivities`)[0]; got != "3" {
		t.Errorf("%s collectivities, want 3", got)
	}
}

func TestCoreTables(t *testing.T) {
	db, _ := sharedFixture(t)
	tests := []struct {
		name string
		q    string
		want string
	}{
		{"alive projects", `SELECT string_agg(project_id, ',' ORDER BY project_id) FROM core.projects`, "P1,P10,P20"},
		{"deleted proposal dropped", `SELECT count(*) FROM core.proposals WHERE source = 'landes'`, "5"},
		{"published alive votes", `SELECT count(*) FROM core.proposal_votes WHERE source = 'landes'`, "10"},
		{"phases", `SELECT string_agg(step_id || '=' || phase, ',' ORDER BY source, position) FROM core.steps`,
			"S1=deposit,S2=vote,S3=selection,pstep1=other,S10=consultation,S11=questionnaire,S20=deposit,S21=vote"},
		{"unknown step type kept", `SELECT step_type FROM core.steps WHERE step_id = 'pstep1'`, "PresentationStep"},
		{"exercise models", `SELECT string_agg(project_id || '=' || exercise_model || '/' || edition, ',' ORDER BY project_id) FROM core.projects`,
			"P1=bp/2023,P10=orientations/2024,P20=bp/2022"},
		// 02:30 does not exist on 2023-03-26 in Paris: read with the offset
		// in force before the change (+01:00).
		{"DST gap createdAt 02:30 (no such local time)", `SELECT strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM core.proposals WHERE proposal_id = 'PR1'`, "2023-03-26 01:30"},
		{"summer time publishedAt 03:30 CEST", `SELECT strftime(published_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM core.proposals WHERE proposal_id = 'PR1'`, "2023-03-26 01:30"},
		{"winter time", `SELECT strftime(published_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM core.proposals WHERE proposal_id = 'PR2'`, "2023-03-25 09:00"},
		// 02:30 happens twice on 2023-10-29 in Paris: ICU takes the second
		// occurrence (standard time, +01:00).
		{"DST fall-back ambiguous 02:30", `SELECT strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM core.proposal_votes WHERE vote_id = '103'`, "2023-10-29 01:30"},
		{"vote in the DST gap (per-hour conversion)", `SELECT strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM core.proposal_votes WHERE vote_id = '402'`, "2023-03-26 01:30"},
		{"votes around the DST change", `SELECT string_agg(vote_id || '=' || strftime(created_at AT TIME ZONE 'UTC', '%m-%d %H:%M'), ',' ORDER BY vote_id) FROM core.proposal_votes WHERE vote_id IN ('102', '202', '203', '302')`,
			"102=10-28 10:00,202=10-26 07:00,203=10-31 22:00,302=03-20 09:00"},
		{"costs", `SELECT string_agg(proposal_id || '=' || COALESCE(CAST(estimated_cost_eur AS VARCHAR), 'NULL') || '/' || COALESCE(cost_source, 'NULL'), ',' ORDER BY proposal_id) FROM core.proposals WHERE source = 'landes'`,
			"PR1=250000/form,PR2=12000/api,PR3=NULL/NULL,PR4=NULL/NULL,PR5=NULL/NULL"},
		{"winners", `SELECT string_agg(proposal_id || '=' || COALESCE(selection_status, 'NULL') || '/' || winner, ',' ORDER BY proposal_id) FROM core.proposals`,
			"PR1=Vote gagné/true,PR2=Lauréat/true,PR20=Financé/true,PR21=Retenu/false,PR3=Soumis au vote/false,PR4=NULL/false,PR5=NULL/false"},
		{"selected", `SELECT string_agg(proposal_id, ',' ORDER BY proposal_id) FROM core.proposals WHERE selected AND source = 'landes'`, "PR1,PR2,PR3"},
		{"author keys hashed", `SELECT count(*) FROM core.proposals WHERE author_key = ?`, "2"},
		{"no author", `SELECT count(*) FROM core.proposals WHERE author_key IS NULL`, "1"},
		{"contributions", `SELECT string_agg(contribution_id || ':' || contribution_type || ':' || COALESCE(parent_id, '-') || ':' || COALESCE(argument_type, '-') || ':' || COALESCE(step_id, '-'), ',' ORDER BY contribution_id) FROM core.contributions`,
			"A1:argument:O1:FOR:-,O1:opinion:-:-:-,O2:opinion:-:-:-,R1:reply:-:-:S11,R2:reply:-:-:S11"},
		{"enabled events only", `SELECT string_agg(event_id || '>' || project_id, ',') FROM core.events`, "E1>P1"},
		{"event links of enabled events", `SELECT count(*) FROM core.event_projects`, "1"},
		{"users pseudonymised", `SELECT string_agg(COALESCE(user_type, 'NULL') || '/' || deleted, ',' ORDER BY created_at) FROM core.users`, "Citoyen/false,NULL/true,Association/false"},
		{"districts", `SELECT string_agg(name || '=' || has_geometry, ',' ORDER BY name) FROM core.districts`, "Nord=true,Sud=false"},
		{"multiple-choice labels decoded", `SELECT array_to_string(labels, '+') FROM staging.proposal_responses WHERE question_id = 'Q2'`, "Nord+Centre"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []any
			if strings.Contains(tt.q, "?") {
				args = append(args, AuthorKey(testSecret, "landes", "U1"))
			}
			if got := query(t, db, tt.q, args...)[0]; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParticipation(t *testing.T) {
	db, _ := sharedFixture(t)
	tests := []struct {
		name string
		q    string
		want string
	}{
		{"proposal on the DST day, local date", `SELECT proposals || '/' || contributors FROM metrics.participation_daily WHERE step_id = 'S1' AND day = DATE '2023-03-26'`, "1/1"},
		{"vote during the collect step", `SELECT votes FROM metrics.participation_daily WHERE step_id = 'S1' AND day = DATE '2023-03-20'`, "1"},
		{"vote in the DST gap, local day", `SELECT votes || '/' || proposals FROM metrics.participation_daily WHERE step_id = 'S1' AND day = DATE '2023-03-26'`, "1/1"},
		{"S1 cumulative proposals", `SELECT max(cumulative_proposals) FROM metrics.participation_daily WHERE step_id = 'S1'`, "5"},
		{"vote step days", `SELECT string_agg(strftime(day, '%m-%d') || ':' || votes || ':' || cumulative_votes, ',' ORDER BY day) FROM metrics.participation_daily WHERE step_id = 'S2'`,
			"10-02:1:1,10-03:1:2,10-05:1:3,10-10:1:4,10-26:1:5,10-28:1:6,10-29:1:7,10-31:1:8"},
		{"replies", `SELECT replies || '/' || contributors FROM metrics.participation_daily WHERE step_id = 'S11'`, "2/2"},
		{"contribution outside the steps", `SELECT contributions || '/' || COALESCE(phase, 'NULL') FROM metrics.participation_daily WHERE source = 'occitanie' AND step_id = ''`, "1/NULL"},
		{"contributions in the consultation", `SELECT CAST(sum(contributions) AS BIGINT) FROM metrics.participation_daily WHERE step_id = 'S10'`, "2"},
		{"weekly", `SELECT string_agg(strftime(week, '%m-%d') || ':' || votes || ':' || cumulative_votes, ',' ORDER BY week) FROM metrics.participation_weekly WHERE step_id = 'S2'`,
			"10-02:3:3,10-09:1:4,10-23:3:7,10-30:1:8"},
		{"phase summary", `SELECT string_agg(step_id || ':' || phase || ':' || proposals || ':' || votes || ':' || COALESCE(CAST(votes_last_7_days AS VARCHAR), 'NULL') || ':' || COALESCE(CAST(votes_last_7_days_share AS VARCHAR), 'NULL'), ',' ORDER BY s.position) FROM metrics.phase_summary JOIN core.steps s USING (source, step_id, phase) WHERE source = 'landes'`,
			"S1:deposit:5:2:1:0.5,S2:vote:3:8:4:0.5,S3:selection:2:0:0:NULL,pstep1:other:0:0:NULL:NULL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := query(t, db, tt.q)[0]; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBudgetComparison(t *testing.T) {
	db, _ := sharedFixture(t)
	got := query(t, db, `SELECT collectivity_code, population, edition, exercise_model, exercise_model_inferred, envelope_eur,
		proposals, votes, participants, participants_method, winners, estimated_cost_total_eur, winners_cost_known, comparable_on
		FROM metrics.budget_comparison WHERE project_id = 'P1'`)
	want := []string{"40", "433570", "2023", "bp", "true", "1000000", "4", "8", "3", "authors", "2", "262000", "2", "all"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("P1 = %v\nwant %v", got, want)
	}
	floats := []struct {
		project, col string
		want         float64
		null         bool
	}{
		{"P1", "proposals_per_10k", 4 * 10000.0 / 433570, false},
		{"P1", "votes_per_1k", 8 * 1000.0 / 433570, false},
		{"P1", "participation_rate", 3.0 / 433570, false},
		{"P1", "winner_rate", 0.5, false},
		{"P1", "cost_to_envelope", 0.262, false},
		{"P1", "eur_per_inhabitant", 1e6 / 433570, false},
		// votes 0, 2, 3, 3 (a tie): Σ|xi−xj| over ordered pairs = 20, 2·n²·mean = 64.
		{"P1", "votes_gini", 20.0 / 64, false},
		{"P10", "participation_rate", 4.0 / 6124653, false},
		{"P10", "winner_rate", 0, true},
		{"P10", "votes_gini", 0, true},
		{"P10", "eur_per_inhabitant", 0, true},
		// tie 5 / 5: perfectly even.
		{"P20", "votes_gini", 0, false},
		{"P20", "cost_to_envelope", 0, true},
		{"P20", "participation_rate", 2.0 / 10000, false},
	}
	for _, f := range floats {
		v := queryFloat(t, db, `SELECT `+f.col+` FROM metrics.budget_comparison WHERE project_id = ?`, f.project)
		if f.null {
			if v.Valid {
				t.Errorf("%s %s = %v, want NULL", f.project, f.col, v.Float64)
			}
			continue
		}
		if !v.Valid || !near(v.Float64, f.want) {
			t.Errorf("%s %s = %v, want %v", f.project, f.col, v, f.want)
		}
	}
	p10 := query(t, db, `SELECT exercise_model, exercise_model_inferred, participants, participants_method, comparable_on, proposals, votes FROM metrics.budget_comparison WHERE project_id = 'P10'`)
	if strings.Join(p10, "|") != "orientations|true|4|contributors|participation|0|0" {
		t.Errorf("P10 = %v", p10)
	}
	p20 := query(t, db, `SELECT exercise_model_inferred, winners, estimated_cost_total_eur, winners_cost_known FROM metrics.budget_comparison WHERE project_id = 'P20'`)
	if strings.Join(p20, "|") != "false|1|NULL|0" {
		t.Errorf("P20 = %v", p20)
	}
}

func TestBudgetCategoriesAndRanking(t *testing.T) {
	db, _ := sharedFixture(t)
	got := query(t, db, `SELECT string_agg(dimension || ':' || label || ':' || proposals || ':' || round(proposals_share, 4) || ':' || votes || ':' || COALESCE(CAST(round(votes_share, 4) AS VARCHAR), 'NULL') || ':' || winners, ',' ORDER BY dimension, label)
		FROM metrics.budget_categories WHERE project_id = 'P1'`)[0]
	want := "category:Environnement:2:0.5:6:0.75:2,category:Sport:2:0.5:2:0.25:0,theme:(aucun):2:0.5:2:0.25:0,theme:Mobilité:1:0.25:3:0.375:1,theme:Nature:1:0.25:3:0.375:1"
	if got != want {
		t.Errorf("categories\n got %s\nwant %s", got, want)
	}
	rank := query(t, db, `SELECT string_agg(collectivity_code || ':' || COALESCE(CAST(rank AS VARCHAR), '-') || ':' || peers || ':' || comparable, ',' ORDER BY collectivity_code)
		FROM metrics.collectivity_ranking WHERE metric = 'participation_rate'`)[0]
	// A commune, a département and a région: each is ranked among its own
	// kind only (TestRankingPeerGroups ranks several of one kind).
	if rank != "33999:1:1:true,40:1:1:true,R76:1:1:true" {
		t.Errorf("participation_rate ranking = %s", rank)
	}
	if b := queryFloat(t, db, `SELECT benchmark FROM metrics.collectivity_ranking WHERE metric = 'participation_rate' AND collectivity_code = '40'`); !near(b.Float64, 3.0/433570) {
		t.Errorf("participation_rate benchmark of the départements = %v, want %v", b, 3.0/433570)
	}
	votes := query(t, db, `SELECT string_agg(collectivity_code || ':' || COALESCE(CAST(rank AS VARCHAR), '-') || ':' || peers || ':' || comparable, ',' ORDER BY collectivity_code)
		FROM metrics.collectivity_ranking WHERE metric = 'votes_per_1k'`)[0]
	if votes != "33999:1:1:true,40:1:1:true,R76:-:0:false" {
		t.Errorf("votes_per_1k ranking = %s", votes)
	}
	if b := queryFloat(t, db, `SELECT benchmark FROM metrics.collectivity_ranking WHERE metric = 'votes_per_1k' AND collectivity_code = '40'`); !near(b.Float64, 8000.0/433570) {
		t.Errorf("votes_per_1k benchmark = %v", b)
	}
}

func TestRunIsRepeatable(t *testing.T) {
	db, _ := runFixture(t)
	if _, err := Run(context.Background(), db, fixtureOptions()); err != nil {
		t.Fatalf("second Run: %v", err)
	}
}

func TestRunFailingDataTestRollsBack(t *testing.T) {
	db, _ := runFixture(t)
	ctx := context.Background()
	// A proposal whose project is alive but which breaks the [0, 1] rule:
	// 20 000 authors for a commune of 10 000 inhabitants.
	if _, err := db.ExecContext(ctx, `INSERT INTO raw.proposals
		SELECT 'ville-test', 'X' || i, 'P20', 'S20', 'UX' || i, json_object('id', 'X' || i, 'createdAt', '2022-02-12 10:00:00', 'trashed', false), 'h', 1, 1, NULL
		FROM range(20000) t(i)`); err != nil {
		t.Fatal(err)
	}
	before := query(t, db, `SELECT count(*) FROM core.proposals`)[0]
	rep, err := Run(ctx, db, fixtureOptions())
	if !errors.Is(err, ErrDataTests) {
		t.Fatalf("Run error = %v, want ErrDataTests", err)
	}
	if !strings.Contains(err.Error(), "rates_in_range") || !strings.Contains(err.Error(), "participation_rate") {
		t.Errorf("error does not name the failing test and rows:\n%v", err)
	}
	if len(rep.Failed()) != 1 {
		t.Errorf("failed tests = %+v", rep.Failed())
	}
	if after := query(t, db, `SELECT count(*) FROM core.proposals`)[0]; after != before {
		t.Errorf("core.proposals has %s rows after a failed run, want the previous %s", after, before)
	}
}

func TestRunRequiresSecretAndRaw(t *testing.T) {
	ctx := context.Background()
	db := fixtureDB(t)
	if _, err := Run(ctx, db, Options{}); err == nil {
		t.Error("Run without AuthorKeySecret succeeded")
	}
	bad := fixtureOptions()
	bad.Sources[0].Projects[0].ExerciseModel = "budget"
	if _, err := Run(ctx, db, bad); err == nil {
		t.Error("Run with an unknown exercise model succeeded")
	}
	empty, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if _, err := Run(ctx, empty, fixtureOptions()); err == nil || !strings.Contains(err.Error(), "raw.") {
		t.Errorf("Run without raw tables: %v", err)
	}
}

func TestAuthorKey(t *testing.T) {
	a := AuthorKey([]byte("k"), "landes", "U1")
	if len(a) != 64 || a == AuthorKey([]byte("k2"), "landes", "U1") || a == AuthorKey([]byte("k"), "gironde", "U1") || a != AuthorKey([]byte("k"), "landes", "U1") {
		t.Errorf("AuthorKey not a keyed, source-scoped, stable hash: %s", a)
	}
	// Separator: ("ab", "c") and ("a", "bc") differ.
	if AuthorKey([]byte("k"), "ab", "c") == AuthorKey([]byte("k"), "a", "bc") {
		t.Error("AuthorKey is ambiguous across the source/id boundary")
	}
}

// TestRankingPeerGroups runs the collectivity_ranking model on a crafted
// budget_comparison: collectivities are ranked among their own kind, on
// their latest finished edition; an edition in progress, a value not
// comparable or missing is never ranked nor counted in peers or the
// benchmark.
func TestRankingPeerGroups(t *testing.T) {
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	models, err := Models(seedNames)
	if err != nil {
		t.Fatal(err)
	}
	var model string
	for _, m := range models {
		if m.Name == "metrics.collectivity_ranking" {
			model = m.SQL
		}
	}
	cols := "collectivity_code, collectivity_name, collectivity_kind, source, project_id, edition, comparable_on, in_progress, " +
		"proposals_per_10k, votes_per_1k, participation_rate, winner_rate, cost_to_envelope, eur_per_inhabitant, votes_gini"
	if err := duckdbx.Exec(ctx, db, "CREATE SCHEMA metrics", `CREATE TABLE metrics.budget_comparison AS SELECT * FROM (VALUES
		('01', 'A', 'departement', 'a', 'pa1', '2023', 'all', false, 1.0, 10.0, 0.01, 0.5, 1.0, 2.0, 0.1),
		('01', 'A', 'departement', 'a', 'pa2', '2024', 'all', true, 9.0, 90.0, 0.09, NULL, NULL, 2.0, 0.1),
		('02', 'B', 'departement', 'b', 'pb1', '2024', 'all', false, 2.0, 20.0, 0.02, 0.4, 1.0, 3.0, 0.2),
		('03', 'C', 'departement', 'c', 'pc1', '2024', 'participation', false, 3.0, 30.0, 0.03, 0.3, 1.0, 4.0, 0.3),
		('04', 'D', 'departement', 'd', 'pd1', '2025', 'all', true, 4.0, 40.0, 0.04, NULL, NULL, 5.0, 0.4),
		('R1', 'E', 'region', 'e', 'pe1', '2024', 'all', false, 0.5, 5.0, 0.005, 0.2, 1.0, 1.0, 0.5)
		) t(`+cols+`)`, "CREATE TABLE metrics.collectivity_ranking AS "+model); err != nil {
		t.Fatal(err)
	}
	got := query(t, db, `SELECT string_agg(collectivity_code || ':' || edition || ':' || COALESCE(CAST(rank AS VARCHAR), '-') || '/' || peers || ':' || peer_group, ' ' ORDER BY collectivity_code)
		FROM metrics.collectivity_ranking WHERE metric = 'votes_per_1k'`)[0]
	// A's finished 2023 edition (not its 2024 one in progress); C is an
	// orientation exercise (not comparable on votes); D has only an edition
	// in progress; E is the only région.
	if want := "01:2023:2/2:departement 02:2024:1/2:departement 03:2024:-/2:departement 04:2025:-/2:departement R1:2024:1/1:region"; got != want {
		t.Errorf("votes_per_1k ranking\n got %s\nwant %s", got, want)
	}
	if b := queryFloat(t, db, `SELECT benchmark FROM metrics.collectivity_ranking WHERE metric = 'votes_per_1k' AND collectivity_code = '03'`); !near(b.Float64, 15) {
		t.Errorf("départements' benchmark = %v, want the median of A and B, 15", b)
	}
	part := query(t, db, `SELECT string_agg(collectivity_code || ':' || COALESCE(CAST(rank AS VARCHAR), '-'), ' ' ORDER BY collectivity_code)
		FROM metrics.collectivity_ranking WHERE metric = 'participation_rate'`)[0]
	if want := "01:3 02:2 03:1 04:- R1:1"; part != want {
		t.Errorf("participation_rate ranking = %s, want %s (orientations compare on participation)", part, want)
	}
}
