package pipeline

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/capstat/capstat/ingest"
	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/sandbox"
	"github.com/capstat/capstat/transform"
)

// TestEndToEndSandbox crawls the sandbox (tiny scale) over HTTP with the
// ingester, runs the transform and compares each participatory-budget
// edition with the generator's world: proposals not in the trash, their
// published votes and the winners.
func TestEndToEndSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crawl skipped in -short mode")
	}
	const seed = 7
	ctx := context.Background()
	world, db := crawlSandbox(t, seed)
	rep, err := transform.Run(ctx, db, sandboxTransformOptions(world, "e2e"))
	if err != nil {
		t.Fatalf("transform: %v", err)
	}
	t.Logf("%s", rep)

	// Every dataset with a primary key has its passing key check recorded
	// for publication, with the table's row count and key sum.
	cat, err := datasets.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range cat.Datasets {
		if len(d.PrimaryKey) == 0 {
			continue
		}
		var rows, n int64
		var sum, content, now, nowContent string
		err := db.QueryRow(`SELECT row_count, key_sum, content_sum FROM `+datasets.KeyChecksTable+` WHERE table_name = ?`, d.Table).Scan(&rows, &sum, &content)
		if err == nil {
			err = db.QueryRow(`SELECT count(*), `+datasets.HashSumSQL(d.PrimaryKey)+`, `+datasets.HashSumSQL(d.ColumnNames())+` FROM `+d.Table).Scan(&n, &now, &nowContent)
		}
		if err != nil || rows != n || sum != now || content != nowContent {
			t.Errorf("key check of %s = %d rows, sums %s %s (%v); table has %d, %s %s", d.Table, rows, sum, content, err, n, now, nowContent)
		}
	}

	type edition struct{ proposals, votes, winners int64 }
	want := map[string]edition{}
	for _, in := range world.Instances {
		for _, pr := range in.Proposals {
			if !pr.Visible() || pr.Trashed || pr.Project.Budget == nil {
				continue
			}
			e := want[in.Name+"/"+pr.Project.ID]
			e.proposals++
			e.votes += int64(len(pr.Votes))
			if pr.Winner {
				e.winners++
			}
			want[in.Name+"/"+pr.Project.ID] = e
		}
		for _, p := range in.Projects {
			if p.Public && p.Budget != nil {
				if _, ok := want[in.Name+"/"+p.ID]; !ok {
					want[in.Name+"/"+p.ID] = edition{}
				}
			}
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT b.source, b.project_id, b.proposals, b.votes, b.winners
		FROM metrics.budget_comparison b JOIN staging.project_models m USING (source, project_id)
		WHERE m.exercise_model_inferred = false`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]edition{}
	for rows.Next() {
		var src, pid string
		var e edition
		if err := rows.Scan(&src, &pid, &e.proposals, &e.votes, &e.winners); err != nil {
			t.Fatal(err)
		}
		got[src+"/"+pid] = e
	}
	if len(want) == 0 {
		t.Fatal("the sandbox world has no budget edition")
	}
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("edition %s missing from budget_comparison", k)
		} else if g != w {
			t.Errorf("edition %s: got %+v, want %+v", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected configured edition %s", k)
		}
	}
	// Every source named after a département or région found its population.
	var unmapped int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM core.collectivities WHERE population IS NULL`).Scan(&unmapped); err != nil {
		t.Fatal(err)
	}
	if unmapped != 0 {
		t.Errorf("%d collectivities without population", unmapped)
	}
}

// TestEndToEndInferredModels runs the transform on the sandbox without any
// project configuration and compares the inferred exercise model of each
// budget edition with the generator's.
func TestEndToEndInferredModels(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crawl skipped in -short mode")
	}
	const seed = 11
	ctx := context.Background()
	world, db := crawlSandbox(t, seed)
	if _, err := transform.Run(ctx, db, transform.Options{AuthorKeySecret: []byte("e2e"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
		t.Fatalf("transform: %v", err)
	}
	for _, in := range world.Instances {
		for _, p := range in.Projects {
			if !p.Public || p.Budget == nil {
				continue
			}
			var model string
			err := db.QueryRowContext(ctx, `SELECT exercise_model FROM core.projects WHERE source = ? AND project_id = ?`, in.Name, p.ID).Scan(&model)
			if err != nil {
				t.Errorf("%s %s: %v", in.Name, p.Title, err)
				continue
			}
			want := p.Budget.Model
			if want == "bp-thematique" {
				want = "bp" // nothing in the steps or the title tells a thematic budget apart
			}
			if model != want {
				t.Errorf("%s %q: inferred %s, world %s", in.Name, p.Title, model, p.Budget.Model)
			}
		}
	}
}

// sandboxTransformOptions are the transform options of a sandbox world's
// instances: each budget project's envelope, model and winner statuses
// (what an operator's configuration would say).
func sandboxTransformOptions(world *sandbox.World, secret string) transform.Options {
	opts := transform.Options{AuthorKeySecret: []byte(secret), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, in := range world.Instances {
		meta := transform.SourceMeta{Name: in.Name, CostQuestion: sandbox.CostQuestion}
		for _, p := range in.Projects {
			if p.Budget != nil {
				meta.Projects = append(meta.Projects, transform.ProjectMeta{ProjectID: p.ID, EnvelopeEUR: p.Budget.EnvelopeEUR,
					ExerciseModel: p.Budget.Model, WinnerStatuses: p.Budget.WinnerStatuses})
			}
		}
		opts.Sources = append(opts.Sources, meta)
	}
	return opts
}

// crawlSandbox crawls every instance of a tiny sandbox world over HTTP into
// an in-memory database, as the pipeline's ingest stage does.
func crawlSandbox(t *testing.T, seed int64) (*sandbox.World, *sql.DB) {
	t.Helper()
	world := sandbox.Generate(seed, sandbox.Tiny)
	srv, err := sandbox.NewFromWorld(world, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	db, err := duckdbx.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var sources []ingest.Source
	for _, in := range world.Instances {
		sources = append(sources, ingest.Source{Name: in.Name, Endpoint: ts.URL + "/" + in.Name + "/graphql", Timezone: "Europe/Paris"})
	}
	if _, err := ingest.Ingest(context.Background(), db, sources, ingest.Options{}); err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return world, db
}
