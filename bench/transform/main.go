// Command benchtransform measures capstat's transform on sandbox data and
// prepares the same raw data for the pandas baseline (pandas_transform.py).
//
//	benchtransform prepare -scale large -dir /tmp/bench   # sandbox → ingest → rawdata.duckdb + csv/
//	benchtransform transform -dir /tmp/bench              # copy rawdata.duckdb, run transform.Run, print timings
//
// run.sh chains both with the pandas script and prints the ratio and the
// peak RSS of each side.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/capstat/capstat/ingest"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/sandbox"
	"github.com/capstat/capstat/transform"
)

// costQuestion is the sandbox's cost question title.
const costQuestion = "Coût estimé de votre projet (en euros)"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtransform prepare|transform [flags]")
		os.Exit(2)
	}
	ctx := context.Background()
	var err error
	switch os.Args[1] {
	case "prepare":
		err = prepare(ctx, os.Args[2:])
	case "transform":
		err = runTransform(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtransform:", err)
		os.Exit(1)
	}
}

func prepare(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("prepare", flag.ExitOnError)
	scaleName := fs.String("scale", "medium", "sandbox scale: tiny, small, medium, large")
	dir := fs.String("dir", "/tmp/capstat-bench", "output directory")
	seed := fs.Int64("seed", 1, "sandbox seed")
	fs.Parse(args)
	scale, err := sandbox.ParseScale(*scaleName)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(*dir, "csv"), 0o755); err != nil {
		return err
	}
	dbPath := filepath.Join(*dir, "rawdata.duckdb")
	os.Remove(dbPath)
	os.Remove(dbPath + ".wal")
	t0 := time.Now()
	srv, err := sandbox.New(sandbox.Options{Seed: *seed, Scale: scale})
	if err != nil {
		return err
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	fmt.Fprintf(os.Stderr, "sandbox %s generated in %s\n", *scaleName, time.Since(t0).Round(time.Millisecond))
	db, err := duckdbx.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	var sources []ingest.Source
	for _, n := range sandbox.DefaultInstances {
		sources = append(sources, ingest.Source{Name: n, Endpoint: ts.URL + "/" + n + "/graphql", PageSize: 100, Concurrency: 4})
	}
	t1 := time.Now()
	if _, err := ingest.Ingest(ctx, db, sources, ingest.Options{}); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	fmt.Fprintf(os.Stderr, "ingested in %s\n", time.Since(t1).Round(time.Millisecond))
	for _, t := range []string{"sources", "projects", "steps", "proposals", "proposal_steps", "proposal_votes", "replies", "contributions"} {
		out := filepath.Join(*dir, "csv", t+".csv")
		q := fmt.Sprintf("COPY (SELECT * FROM raw.%s) TO '%s' (HEADER, DELIMITER ',')", t, out)
		if t != "sources" {
			q = fmt.Sprintf("COPY (SELECT * EXCLUDE (content_hash, first_seen_run, last_seen_run) FROM raw.%s) TO '%s' (HEADER, DELIMITER ',')", t, out)
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("export %s: %w", t, err)
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT 'proposals', count(*) FROM raw.proposals UNION ALL SELECT 'proposal_votes', count(*) FROM raw.proposal_votes
		UNION ALL SELECT 'contributions', count(*) FROM raw.contributions UNION ALL SELECT 'replies', count(*) FROM raw.replies`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		var c int64
		if err := rows.Scan(&n, &c); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "raw.%s: %d rows\n", n, c)
	}
	return rows.Err()
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func runTransform(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("transform", flag.ExitOnError)
	dir := fs.String("dir", "/tmp/capstat-bench", "directory written by prepare")
	threads := fs.Int("threads", 0, "DuckDB threads (0 = default)")
	fs.Parse(args)
	work := filepath.Join(*dir, "work.duckdb")
	os.Remove(work)
	os.Remove(work + ".wal")
	if err := copyFile(work, filepath.Join(*dir, "rawdata.duckdb")); err != nil {
		return fmt.Errorf("copy raw database: %w", err)
	}
	db, err := duckdbx.Open(ctx, work)
	if err != nil {
		return err
	}
	defer db.Close()
	if *threads > 0 {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("SET threads = %d", *threads)); err != nil {
			return err
		}
	}
	opts := transform.Options{AuthorKeySecret: []byte("bench"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, n := range sandbox.DefaultInstances {
		opts.Sources = append(opts.Sources, transform.SourceMeta{Name: n, CostQuestion: costQuestion})
	}
	t0 := time.Now()
	rep, err := transform.Run(ctx, db, opts)
	elapsed := time.Since(t0)
	if err != nil {
		return err
	}
	var votes, editions int64
	if err := db.QueryRowContext(ctx, `SELECT (SELECT CAST(sum(votes) AS BIGINT) FROM metrics.participation_daily), (SELECT count(*) FROM metrics.budget_comparison)`).Scan(&votes, &editions); err != nil {
		return err
	}
	models := map[string]float64{}
	for _, m := range rep.Models {
		models[m.Name] = m.Duration.Seconds()
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"seconds": elapsed.Seconds(), "models": len(rep.Models), "tests": len(rep.Tests),
		"daily_votes": votes, "budget_editions": editions, "model_seconds": models,
	})
}
