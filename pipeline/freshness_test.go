package pipeline

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/config"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
	"github.com/capstat/capstat/sandbox"
)

// metrics records what the pipeline reports, as the daemon's registry.
type metrics struct {
	mu sync.Mutex
	v  map[string]float64 // name + sorted labels
}

func key(name string, labels map[string]string) string {
	var b strings.Builder
	b.WriteString(name)
	for _, k := range []string{"mode", "source", "stage"} {
		if v, ok := labels[k]; ok {
			b.WriteString(" " + k + "=" + v)
		}
	}
	return b.String()
}

func (m *metrics) Add(name string, labels map[string]string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.v[key(name, labels)] += v
}

func (m *metrics) Set(name string, labels map[string]string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.v[key(name, labels)] = v
}

func (m *metrics) get(k string) (float64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.v[k]
	return v, ok
}

// sandboxPipeline is a pipeline over one tiny sandbox source, in empty
// directories.
func sandboxPipeline(t *testing.T) (*Pipeline, *metrics) {
	t.Helper()
	srv, err := sandbox.New(sandbox.Options{Seed: 4, Scale: sandbox.Tiny, Instances: []string{"landes"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	dir := t.TempDir()
	c := config.Default()
	c.Database = filepath.Join(dir, "var", "capstat.duckdb")
	c.Out = filepath.Join(dir, "public")
	c.Privacy.AuthorKeySecretFile = filepath.Join(dir, "var", "secret")
	if err := c.AddSourceFlag("landes=" + hs.URL + "/landes/graphql"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(c.Database), 0o755); err != nil {
		t.Fatal(err)
	}
	m := &metrics{v: map[string]float64{}}
	return &Pipeline{Config: c, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Summary: io.Discard, Metrics: m}, m
}

// exec runs statements on the pipeline's working database.
func exec(t *testing.T, p *Pipeline, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, p.Config.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// A source whose last run committed pages without completing (killed,
// failed) is partly refreshed: transform refuses, naming the source and
// the run, and the current release stays; once the run is complete,
// transform and publish go on.
func TestTransformRefusesUnfinishedSource(t *testing.T) {
	if testing.Short() {
		t.Skip("pipeline end to end: skipped in -short mode")
	}
	p, m := sandboxPipeline(t)
	ctx := context.Background()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := release.Current(p.Config.Out)
	if err != nil {
		t.Fatal(err)
	}
	if at := before.Manifest.DataAsOf["landes"]; at.IsZero() || time.Since(at) > time.Hour {
		t.Errorf("manifest data_as_of of landes = %v, want the end of the crawl", at)
	}
	if _, ok := m.get("capstat_ingest_requests_total mode=full source=landes"); !ok {
		// the first crawl of a source is a full sweep; before the ingest
		// records modes, the label says so
		if _, ok := m.get("capstat_ingest_requests_total mode=unknown source=landes"); !ok {
			t.Errorf("no capstat_ingest_requests_total{source=landes,mode=…}: %v", m.v)
		}
	}
	for _, name := range []string{"capstat_ingest_bytes_total", "capstat_ingest_deleted_total", "capstat_ingest_duration_seconds_total", "capstat_ingest_records_total"} {
		found := false
		for k := range m.v {
			found = found || strings.HasPrefix(k, name+" mode=")
		}
		if !found {
			t.Errorf("no %s{source,mode}", name)
		}
	}

	// Run 999 of landes: running, with a committed checkpoint.
	exec(t, p,
		`ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS mode VARCHAR DEFAULT 'full'`,
		`INSERT INTO raw.ingest_runs (run_id, source, started_at, status, mode) VALUES (999, 'landes', now(), 'running', 'incremental')`,
		`INSERT INTO raw.checkpoints (source, task, run_id, done) VALUES ('landes', 'test:unfinished', 999, false)`)
	err = p.Transform(ctx)
	want := "source landes: run 999 is unfinished (it resumes at the next ingest); the current release is kept"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Transform on a partly refreshed source: %v, want %q", err, want)
	}
	if err := p.ObserveFreshness(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := m.get(MetricUnfinishedRun + " source=landes"); v != 999 {
		t.Errorf("%s{source=landes} = %v, want 999", MetricUnfinishedRun, v)
	}
	after, err := release.Current(p.Config.Out)
	if err != nil || after.ID != before.ID {
		t.Errorf("current release after a refused transform: %v %v, want %s", after, err, before.ID)
	}

	// The run completes: transform and publish go on.
	exec(t, p, `UPDATE raw.ingest_runs SET status = 'complete', finished_at = now() WHERE run_id = 999 AND source = 'landes'`)
	if err := p.Transform(ctx); err != nil {
		t.Fatalf("Transform once the run is complete: %v", err)
	}
	if err := p.ObserveFreshness(ctx); err != nil {
		t.Fatal(err)
	}
	last, ok := m.get(MetricLastRefresh + " source=landes")
	if !ok || time.Since(time.UnixMilli(int64(last*1000))) > time.Hour {
		t.Errorf("%s{source=landes} = %v (set: %v), want about now", MetricLastRefresh, last, ok)
	}
	if _, ok := m.get(MetricLastFullSweep + " source=landes"); !ok {
		t.Errorf("%s{source=landes} unset after a complete first crawl", MetricLastFullSweep)
	}
	if v, _ := m.get(MetricUnfinishedRun + " source=landes"); v != 0 {
		t.Errorf("%s{source=landes} = %v after completion, want 0", MetricUnfinishedRun, v)
	}
}

// p.Full reaches the ingester: the run is a full sweep.
func TestIngestFull(t *testing.T) {
	if testing.Short() {
		t.Skip("pipeline end to end: skipped in -short mode")
	}
	p, _ := sandboxPipeline(t)
	ctx := context.Background()
	if err := p.Ingest(ctx, nil); err != nil {
		t.Fatal(err)
	}
	p.Full = true
	var summary strings.Builder
	p.Summary = &summary
	if err := p.Ingest(ctx, nil); err != nil {
		t.Fatal(err)
	}
	exec(t, p, `ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS mode VARCHAR DEFAULT 'full'`)
	db, err := duckdbx.Open(ctx, p.Config.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRowContext(ctx, `SELECT mode FROM raw.ingest_runs WHERE source = 'landes' ORDER BY run_id DESC LIMIT 1`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "full" {
		t.Errorf("last run of Ingest with Full: mode %q, want full", mode)
	}
}
