package transform

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/capstat/capstat/ingest"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/sandbox"
)

// BenchmarkRunSandboxSmall crawls the sandbox at small scale once, then
// times Run (all models and data tests) on it. bench/transform/run.sh
// compares larger scales with the pandas baseline.
func BenchmarkRunSandboxSmall(b *testing.B) {
	ctx := context.Background()
	srv, err := sandbox.New(sandbox.Options{Seed: 3, Scale: sandbox.Small})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	db, err := duckdbx.Open(ctx, b.TempDir()+"/bench.duckdb")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var sources []ingest.Source
	opts := Options{AuthorKeySecret: []byte("bench"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, n := range sandbox.DefaultInstances {
		sources = append(sources, ingest.Source{Name: n, Endpoint: ts.URL + "/" + n + "/graphql", PageSize: 100})
		opts.Sources = append(opts.Sources, SourceMeta{Name: n, CostQuestion: "Coût estimé de votre projet (en euros)"})
	}
	if _, err := ingest.Ingest(ctx, db, sources, ingest.Options{}); err != nil {
		b.Fatalf("ingest: %v", err)
	}
	var votes int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM raw.proposal_votes`).Scan(&votes); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(ctx, db, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(votes), "raw_votes")
}
