package queries

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris for the independent computations

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports"
)

type row = map[string]any

// fixture is the content of a test snapshot: rows per dataset, with only
// the columns the tests need (others are NULL).
type fixture map[string][]row

var releaseCreated = time.Date(2026, 11, 29, 17, 15, 2, 0, time.UTC)

// writeSnapshot writes a release like the publisher's in the directory of
// path (which must be named capstat.duckdb): the fixture rows go to tables
// data.<dataset> of a scratch in-memory database (extraSQL runs there), are
// written to data/<dataset>/<dataset>.parquet, and reports.WriteSnapshot
// makes the snapshot: a view main.<dataset> per catalogue dataset over
// those files, and release_info.
func writeSnapshot(tb testing.TB, path string, fx fixture, extraSQL ...string) {
	tb.Helper()
	if filepath.Base(path) != "capstat.duckdb" {
		tb.Fatalf("snapshot %s: a release snapshot is named capstat.duckdb", path)
	}
	dir := filepath.Dir(path)
	ctx := context.Background()
	cat, err := datasets.Load()
	if err != nil {
		tb.Fatal(err)
	}
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	exec := func(q string, args ...any) {
		tb.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE SCHEMA data")
	exec(`CREATE TABLE data.release_info (release_id VARCHAR, created_at TIMESTAMPTZ, previous_release_id VARCHAR)`)
	exec(`CREATE VIEW main.release_info AS SELECT * FROM data.release_info`)
	exec(`INSERT INTO data.release_info VALUES ($1, $2, $3)`, "20261129T171502Z", releaseCreated, "20261122T030000Z")
	for _, d := range cat.Datasets {
		cols := make([]string, len(d.Columns))
		for i, c := range d.Columns {
			cols[i] = c.Name + " " + c.Type
		}
		exec(fmt.Sprintf("CREATE TABLE data.%s (%s)", d.Name, strings.Join(cols, ", ")))
		exec(fmt.Sprintf("CREATE VIEW main.%s AS SELECT * FROM data.%s", d.Name, d.Name))
		rows := fx[d.Name]
		if len(rows) == 0 {
			continue
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			tb.Fatal(err)
		}
		names := make([]string, len(d.Columns))
		marks := make([]string, len(d.Columns))
		for i, c := range d.Columns {
			names[i], marks[i] = c.Name, fmt.Sprintf("$%d", i+1)
		}
		st, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO data.%s (%s) VALUES (%s)", d.Name, strings.Join(names, ", "), strings.Join(marks, ", ")))
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range rows {
			for k := range r {
				if _, ok := d.Column(k); !ok {
					tb.Fatalf("fixture: %s has no column %s", d.Name, k)
				}
			}
			args := make([]any, len(d.Columns))
			for i, c := range d.Columns {
				args[i] = r[c.Name]
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				tb.Fatalf("insert %s %v: %v", d.Name, r, err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
	for _, q := range extraSQL {
		exec(q)
	}
	exec("SET TimeZone = 'UTC'")
	for _, d := range cat.Datasets {
		out := filepath.Join(dir, "data", d.Name)
		if err := os.MkdirAll(out, 0o755); err != nil {
			tb.Fatal(err)
		}
		exec(fmt.Sprintf("COPY data.%s TO '%s' (FORMAT parquet, COMPRESSION zstd)", d.Name, filepath.Join(out, d.Name+".parquet")))
	}
	var id string
	var created time.Time
	var prev sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT release_id, created_at, previous_release_id FROM data.release_info").Scan(&id, &created, &prev); err != nil {
		tb.Fatal(err)
	}
	if os.Getenv("CAPSTAT_SNAPSHOT_TABLES") != "" {
		// The older layout (tables inside the snapshot, views over them),
		// still served by the engine: the benchmarks compare the two.
		snap, err := duckdbx.Open(ctx, path)
		if err != nil {
			tb.Fatal(err)
		}
		defer snap.Close()
		stmts := []string{"CREATE SCHEMA data",
			fmt.Sprintf("CREATE VIEW main.release_info AS SELECT '%s' AS release_id, '%s'::TIMESTAMPTZ AS created_at, '%s'::VARCHAR AS previous_release_id",
				id, created.UTC().Format(time.RFC3339), prev.String)}
		for _, d := range cat.Datasets {
			stmts = append(stmts,
				fmt.Sprintf("CREATE TABLE data.%s AS SELECT * FROM read_parquet('%s')", d.Name, filepath.Join(dir, "data", d.Name, d.Name+".parquet")),
				fmt.Sprintf("CREATE VIEW main.%s AS SELECT * FROM data.%s", d.Name, d.Name))
		}
		for _, q := range stmts {
			if _, err := snap.ExecContext(ctx, q); err != nil {
				tb.Fatalf("%s: %v", q, err)
			}
		}
		return
	}
	if err := reports.WriteSnapshot(ctx, dir, cat, id, created, prev.String); err != nil {
		tb.Fatal(err)
	}
}

// The hostile and non-ASCII titles every reader must survive.
const hostileTitle = `<img src=x onerror=alert(1)>`

var funnyTitles = []string{hostileTitle, "Piste cyclable à Mont-de-Marsan 🚲", "Jardins partagés « Éco » – Dax", `Quote ' and "double" ; DROP TABLE proposals; --`, "École\tonglet\nligne"}

type fxProject struct {
	source, id, collectivity, edition, title string
	voteStart, voteEnd                       time.Time
}

// smallFixture builds a deterministic fixture with enough variety for every
// catalogue query: two sources, several editions, a vote phase across the
// March 2024 DST change, trashed and hostile proposals.
func smallFixture() fixture {
	rng := rand.New(rand.NewPCG(42, 7))
	fx := fixture{}
	fx["collectivities"] = []row{
		{"collectivity_code": "40", "collectivity_name": "Landes", "collectivity_kind": "departement", "population": int64(420000), "population_year": int32(2023), "region_code": "R75"},
		{"collectivity_code": "33", "collectivity_name": "Gironde", "collectivity_kind": "departement", "population": int64(1650000), "population_year": int32(2023), "region_code": "R75"},
		{"collectivity_code": "R75", "collectivity_name": "Nouvelle-Aquitaine", "collectivity_kind": "region", "population": int64(6100000), "population_year": int32(2023)},
	}
	d := func(y int, m time.Month, day, h int) time.Time { return time.Date(y, m, day, h, 0, 0, 0, time.UTC) }
	projects := []fxProject{
		{"landes", "UHJvamVjdDox", "40", "2023", "Budget participatif des Landes 2023", d(2023, 3, 1, 8), d(2023, 4, 1, 21)},
		{"landes", "UHJvamVjdDoy", "40", "2024", "Budget participatif des Landes 2024 🌲", d(2024, 3, 15, 8), d(2024, 4, 10, 21)},
		{"gironde", "UHJvamVjdDox", "33", "2024", hostileTitle, d(2024, 2, 1, 8), d(2024, 3, 1, 21)},
		{"gironde", "UHJvamVjdDo1", "33", "2023", "Budget citoyen Gironde « 2023 »", d(2023, 5, 1, 8), d(2023, 6, 1, 21)},
		{"region", "UHJvamVjdDo5", "R75", "2024", "Consultation régionale", time.Time{}, time.Time{}},
	}
	categories := []any{"Mobilité", "Environnement", "Culture", "Sport", nil}
	for pi, p := range projects {
		fx["projects"] = append(fx["projects"], row{"source": p.source, "project_id": p.id, "collectivity_code": p.collectivity, "title": p.title,
			"published_at": d(2023, 1, 10+pi, 9), "project_type": "Budget participatif", "edition": p.edition, "steps_count": int64(2)})
		collect := row{"source": p.source, "step_id": p.id + "-collect", "project_id": p.id, "step_type": "CollectStep", "phase": "deposit",
			"title": "Dépôt", "state": "CLOSED", "position": int32(0)}
		fx["steps"] = append(fx["steps"], collect)
		if p.voteStart.IsZero() {
			continue
		}
		collect["start_at"], collect["end_at"] = p.voteStart.AddDate(0, -2, 0), p.voteStart.AddDate(0, 0, -1)
		state := "CLOSED"
		if pi == 1 {
			state = "OPENED"
		}
		fx["steps"] = append(fx["steps"], row{"source": p.source, "step_id": p.id + "-vote", "project_id": p.id, "step_type": "SelectionStep", "phase": "vote",
			"title": "Vote", "state": state, "start_at": p.voteStart, "end_at": p.voteEnd, "position": int32(1)})
		nProposals := 12 + rng.IntN(10)
		for k := range nProposals {
			title := fmt.Sprintf("Proposition %d-%d", pi, k)
			if k < len(funnyTitles) {
				title = funnyTitles[k]
			}
			votes := int64(rng.IntN(60))
			if k == 3 {
				votes = 50 // ties on votes_count exercise the tie-break
			}
			trashed := rng.IntN(8) == 0
			winner := !trashed && rng.IntN(3) == 0
			pid := fmt.Sprintf("UHJvcG9zYWw6%d%02d", pi, k)
			fx["proposals"] = append(fx["proposals"], row{"source": p.source, "proposal_id": pid, "project_id": p.id, "collect_step_id": p.id + "-collect",
				"reference": fmt.Sprintf("%d-%d", pi, k), "title": title, "url": "https://example.org/p/" + pid,
				"created_at": p.voteStart.AddDate(0, -1, 0).Add(time.Duration(rng.IntN(500)) * time.Hour), "trashed": trashed,
				"category": categories[rng.IntN(len(categories))], "votes_count": votes, "selected": winner, "winner": winner})
			span := p.voteEnd.Sub(p.voteStart)
			for v := range votes {
				// A few votes fall outside the vote phase and must not count.
				at := p.voteStart.Add(time.Duration(rng.Int64N(int64(span)+1)) / time.Second * time.Second)
				if v%17 == 16 {
					at = p.voteEnd.Add(time.Duration(1+rng.IntN(72)) * time.Hour)
				}
				fx["proposal_votes"] = append(fx["proposal_votes"], row{"source": p.source, "vote_id": fmt.Sprintf("%s-%d", pid, v), "proposal_id": pid,
					"project_id": p.id, "created_at": at, "anonymous": v%5 == 0})
			}
		}
	}
	// participation_weekly and participation_daily: per step and period.
	for _, p := range projects[:4] {
		for _, st := range []string{p.id + "-collect", p.id + "-vote"} {
			start := p.voteStart.AddDate(0, 0, -28)
			for wk := range 6 {
				week := mondayOf(start.AddDate(0, 0, 7*wk))
				if rng.IntN(5) == 0 {
					continue
				}
				fx["participation_weekly"] = append(fx["participation_weekly"], row{"source": p.source, "project_id": p.id, "step_id": st, "phase": "vote",
					"week": week, "proposals": int64(rng.IntN(20)), "votes": int64(rng.IntN(300)), "contributions": int64(rng.IntN(40)), "replies": int64(rng.IntN(5)), "contributors": int64(rng.IntN(30))})
			}
			for dd := range 40 {
				if rng.IntN(3) == 0 {
					continue
				}
				day := p.voteStart.AddDate(0, 0, dd-10)
				fx["participation_daily"] = append(fx["participation_daily"], row{"source": p.source, "project_id": p.id, "step_id": st, "phase": "vote",
					"day": time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC), "proposals": int64(rng.IntN(5)), "votes": int64(rng.IntN(80)), "contributions": int64(rng.IntN(9)), "replies": int64(rng.IntN(3))})
			}
		}
	}
	// budget_comparison: two editions per département, one for the région.
	pops := map[string]int64{"40": 420000, "33": 1650000, "R75": 6100000}
	names := map[string]string{"40": "Landes", "33": "Gironde", "R75": "Nouvelle-Aquitaine"}
	kinds := map[string]string{"40": "departement", "33": "departement", "R75": "region"}
	for _, p := range projects {
		votes := int64(rng.IntN(40000))
		if p.source == "gironde" && p.edition == "2023" {
			votes = 0 // a zero edition: the next change is undefined
		}
		participants := int64(rng.IntN(9000))
		proposals := int64(10 + rng.IntN(300))
		pop := pops[p.collectivity]
		fx["budget_comparison"] = append(fx["budget_comparison"], row{"source": p.source, "collectivity_code": p.collectivity, "collectivity_name": names[p.collectivity],
			"collectivity_kind": kinds[p.collectivity], "population": pop, "population_year": int32(2023), "project_id": p.id, "project_title": p.title,
			"edition": p.edition, "proposals": proposals, "proposals_per_10k": float64(proposals) * 1e4 / float64(pop), "votes": votes,
			"votes_per_1k": float64(votes) * 1e3 / float64(pop), "participants": participants, "participation_rate": float64(participants) / float64(pop)})
	}
	// collectivity_ranking for two metrics.
	for _, m := range []string{"votes_per_1k", "participation_rate"} {
		vals := []float64{rng.Float64() * 100, rng.Float64() * 100, rng.Float64() * 100}
		codes := []string{"40", "33", "R75"}
		for i, c := range codes {
			rank := 1
			for _, v := range vals {
				if v > vals[i] {
					rank++
				}
			}
			fx["collectivity_ranking"] = append(fx["collectivity_ranking"], row{"collectivity_code": c, "collectivity_name": names[c], "source": "s" + c,
				"project_id": "p" + c, "edition": "2024", "metric": m, "value": vals[i], "rank": int32(rank), "peers": int32(3), "benchmark": 42.5, "comparable": c != "R75"})
		}
	}
	// Events: linked to some projects, one linked to two projects.
	for i := range 7 {
		p := projects[i%3]
		eid := fmt.Sprintf("RXZlbnQ6%d", i)
		fx["events"] = append(fx["events"], row{"source": p.source, "event_id": eid, "title": funnyTitles[i%len(funnyTitles)], "start_at": d(2024, 1, 5+i, 18), "project_id": p.id})
		fx["event_projects"] = append(fx["event_projects"], row{"source": p.source, "event_id": eid, "project_id": p.id})
		if i == 4 {
			fx["event_projects"] = append(fx["event_projects"], row{"source": "landes", "event_id": eid, "project_id": "UHJvamVjdDox"})
		}
	}
	// Contributions of every type.
	types := []string{"opinion", "version", "argument", "argument", "source", "reply"}
	for i := range 150 {
		p := projects[rng.IntN(len(projects))]
		t := types[rng.IntN(len(types))]
		r := row{"source": p.source, "contribution_id": fmt.Sprintf("c%d", i), "contribution_type": t, "project_id": p.id,
			"created_at": d(2024, 1, 1, 0).Add(time.Duration(i) * time.Hour), "trashed": rng.IntN(10) == 0}
		if t == "argument" {
			r["argument_type"] = []string{"FOR", "AGAINST"}[rng.IntN(2)]
		}
		fx["contributions"] = append(fx["contributions"], r)
	}
	return fx
}

func mondayOf(t time.Time) time.Time {
	t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	wd := (int(t.Weekday()) + 6) % 7
	return t.AddDate(0, 0, -wd)
}

// sharedFixture is written once per test binary (see TestMain).
var sharedFixture struct {
	fx   fixture
	path string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "capstat-queries-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedFixture.fx = smallFixture()
	sharedFixture.path = filepath.Join(dir, "capstat.duckdb")
	tb := &mainTB{}
	writeSnapshot(tb, sharedFixture.path, sharedFixture.fx)
	code := m.Run()
	os.RemoveAll(dir)
	if largeOnce.path != "" {
		os.RemoveAll(filepath.Dir(largeOnce.path))
	}
	os.Exit(code)
}

// mainTB lets writeSnapshot run in TestMain.
type mainTB struct{ testing.TB }

func (*mainTB) Helper() {}
func (*mainTB) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, args...)
	os.Exit(1)
}
func (*mainTB) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// engineModes are the two ways an engine opens a snapshot: on the
// release's views over Parquet, and on tables loaded from them.
var engineModes = []struct {
	name string
	opts []Option
}{{"views", nil}, {"tables", []Option{LoadTables("")}}}

// openFixture opens an engine on the shared small fixture (read-only, so
// tests cannot disturb each other).
func openFixture(t *testing.T, limits Limits, opts ...Option) (*Engine, fixture, string) {
	t.Helper()
	e, err := Open(context.Background(), sharedFixture.path, limits, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, sharedFixture.fx, sharedFixture.path
}
