package reports

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
)

// benchShare splits the benchmark rows between datasets like a large real
// deployment: votes dominate, then contributions and daily metrics.
var benchShare = map[string]float64{
	"proposal_votes":       0.62,
	"contributions":        0.18,
	"participation_daily":  0.08,
	"proposals":            0.05,
	"users":                0.04,
	"participation_weekly": 0.012,
	"steps":                0.002,
	"events":               0.002,
	"event_projects":       0.002,
	"budget_categories":    0.002,
	"phase_summary":        0.002,
}

// BenchmarkPublish generates a working database of CAPSTAT_BENCH_ROWS rows
// (default 3,000,000) with the catalogue's shapes, then measures a bare
// DuckDB COPY of every table to zstd Parquet (the floor) and a full Publish.
// With CAPSTAT_BENCH_DB=/path/working.duckdb it reads that real working
// database (after ingest and transform) instead of generating rows.
// Run: go test -run '^$' -bench Publish -benchtime 1x ./reports/
// or bench/publish/run.sh [large].
func BenchmarkPublish(b *testing.B) {
	total := 3_000_000
	if s := os.Getenv("CAPSTAT_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		total = n
	}
	// CAPSTAT_BENCH_CSV_MAX sets Options.CSVMaxRows (default: a spreadsheet);
	// CAPSTAT_BENCH_WORKERS the datasets written at once.
	var csvMax int64
	var workers int
	if s := os.Getenv("CAPSTAT_BENCH_CSV_MAX"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		csvMax = n
	}
	if s := os.Getenv("CAPSTAT_BENCH_WORKERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("CAPSTAT_BENCH_WORKERS=%q", s)
		}
		workers = n
	}
	ctx := context.Background()
	cat := loadCatalog(b)
	dir := b.TempDir()
	var db *sql.DB
	var rows int64
	var err error
	if path := os.Getenv("CAPSTAT_BENCH_DB"); path != "" {
		// A real working database (bench/publish/run.sh large builds one
		// from the sandbox): Publish never writes to it, so it is opened
		// read-only in place and both the floor and Publish read its
		// transformed tables.
		db, err = duckdbx.OpenReadOnly(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		rows, err = logDatasetRows(ctx, b, db, cat)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("working database %s: %d rows in %d datasets", path, rows, len(cat.Datasets))
	} else {
		db, err = duckdbx.Open(ctx, filepath.Join(dir, "working.duckdb"))
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		t0 := time.Now()
		rows, err = fillLarge(ctx, db, cat, total)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("generated %d rows in %s", rows, time.Since(t0).Round(time.Millisecond))
	}

	var floorTotal, pubTotal, floorCPU, pubCPU time.Duration
	var floorBytes, pubBytes, parquetBytes, csvBytes int64
	var st Stats
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		floorDir := filepath.Join(dir, fmt.Sprintf("floor-%d", i))
		os.MkdirAll(floorDir, 0o755)
		t1, c1 := time.Now(), processCPU()
		for _, d := range cat.Datasets {
			q := fmt.Sprintf("COPY %s TO %s (FORMAT parquet, COMPRESSION zstd)", tableRef(d.Table), duckdbx.Quote(filepath.Join(floorDir, d.Name+".parquet")))
			if _, err := db.ExecContext(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
		floorTotal += time.Since(t1)
		floorCPU += processCPU() - c1
		floorBytes = dirBytes(b, floorDir, "")

		opts := Options{OutDir: filepath.Join(dir, "public"), Privacy: DefaultPrivacy(), Retention: 2, CSVMaxRows: csvMax, Workers: workers,
			DCAT: &DCAT{BaseURL: "https://data.example.fr", PublisherName: "Bench"}} // the catalogue is part of publishing
		opts.Logger = slog.New(slog.DiscardHandler)
		if os.Getenv("CAPSTAT_BENCH_DEBUG") != "" {
			opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		t2, c2 := time.Now(), processCPU()
		rel, err := Publish(ctx, db, opts)
		if err != nil {
			b.Fatal(err)
		}
		pubTotal += time.Since(t2)
		pubCPU += processCPU() - c2
		st.Checks += rel.Stats.Checks
		st.Snapshot += rel.Stats.Snapshot
		st.Parquet += rel.Stats.Parquet
		st.CSV += rel.Stats.CSV
		st.Changes += rel.Stats.Changes
		st.Metadata += rel.Stats.Metadata
		st.Verify += rel.Stats.Verify
		pubBytes = dirBytes(b, rel.Dir, "")
		parquetBytes = dirBytes(b, rel.Dir, ".parquet")
		csvBytes = dirBytes(b, rel.Dir, ".csv")
		os.RemoveAll(floorDir)
	}
	n := float64(b.N)
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(floorTotal.Seconds()/n, "floor-s")
	b.ReportMetric(pubTotal.Seconds()/n, "publish-s")
	b.ReportMetric(pubTotal.Seconds()/floorTotal.Seconds(), "ratio")
	// CPU seconds of the whole process (DuckDB's threads included): on a
	// shared machine the elapsed times move with the other load, the CPU
	// time much less, so cpu-ratio is the steadier comparison.
	b.ReportMetric(floorCPU.Seconds()/n, "floor-cpu-s")
	b.ReportMetric(pubCPU.Seconds()/n, "publish-cpu-s")
	if floorCPU > 0 {
		b.ReportMetric(pubCPU.Seconds()/floorCPU.Seconds(), "cpu-ratio")
	}
	// Checks, Parquet, CSV and Changes run on two workers at once: their
	// seconds add up both workers' time; snapshot, meta and verify follow.
	b.ReportMetric(st.Checks.Seconds()/n, "checks-s")
	b.ReportMetric(st.Parquet.Seconds()/n, "parquet-s")
	b.ReportMetric(st.CSV.Seconds()/n, "csv-s")
	b.ReportMetric(st.Changes.Seconds()/n, "changes-s")
	b.ReportMetric(st.Snapshot.Seconds()/n, "snapshot-s")
	b.ReportMetric(st.Metadata.Seconds()/n, "meta-s")
	b.ReportMetric(st.Verify.Seconds()/n, "verify-s")
	b.ReportMetric(float64(csvBytes), "csv-bytes")
	b.ReportMetric(float64(floorBytes), "floor-bytes")
	b.ReportMetric(float64(parquetBytes), "parquet-bytes")
	b.ReportMetric(float64(pubBytes), "release-bytes")
}

// logDatasetRows logs the row count of every catalogue table (on one line:
// the benchmark's log keeps only its first lines) and returns their sum.
func logDatasetRows(ctx context.Context, b *testing.B, db *sql.DB, cat *datasets.Contract) (int64, error) {
	var sum int64
	var counts []string
	for _, d := range cat.Datasets {
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+tableRef(d.Table)).Scan(&n); err != nil {
			return 0, fmt.Errorf("count %s: %w", d.Name, err)
		}
		counts = append(counts, fmt.Sprintf("%s=%d", d.Name, n))
		sum += n
	}
	b.Logf("rows: %s", strings.Join(counts, " "))
	return sum, nil
}

func dirBytes(b *testing.B, dir, suffix string) int64 {
	var total int64
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, suffix) {
			if info, err := e.Info(); err == nil {
				total += info.Size()
			}
		}
		return err
	})
	return total
}

// fillLarge creates every catalogue table with about total rows in all,
// realistic value shapes and unique primary keys, and records their key
// checks as transform does.
func fillLarge(ctx context.Context, db *sql.DB, cat *datasets.Contract, total int) (int64, error) {
	var sum int64
	for _, d := range cat.Datasets {
		n := int(float64(total) * benchShare[d.Name])
		if n < 200 {
			n = 200
		}
		schema, _, _ := strings.Cut(d.Table, ".")
		if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+duckdbx.Ident(schema)); err != nil {
			return 0, err
		}
		unique := ""
		for _, k := range d.PrimaryKey {
			if c, _ := d.Column(k); c.Type == "VARCHAR" && k != "source" {
				unique = k
			}
		}
		var exprs []string
		for _, c := range d.Columns {
			exprs = append(exprs, largeExpr(c, c.Name == unique)+" AS "+duckdbx.Ident(c.Name))
		}
		q := fmt.Sprintf("CREATE TABLE %s AS SELECT %s FROM range(%d) r(i)", tableRef(d.Table), strings.Join(exprs, ", "), n)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("generate %s: %w", d.Name, err)
		}
		sum += int64(n)
	}
	// Like transform after its data tests: record the checked keys.
	if _, err := db.ExecContext(ctx, datasets.KeyChecksDDL); err != nil {
		return 0, err
	}
	for _, d := range cat.Datasets {
		if len(d.PrimaryKey) == 0 {
			continue
		}
		var dups int64
		if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) - count(DISTINCT (%s)) FROM %s", identList(d.PrimaryKey), tableRef(d.Table))).Scan(&dups); err != nil || dups != 0 {
			return 0, fmt.Errorf("generate %s: %d duplicated keys (%v)", d.Name, dups, err)
		}
		if _, err := db.ExecContext(ctx, d.RecordKeyCheckSQL()); err != nil {
			return 0, err
		}
	}
	return sum, nil
}

func largeExpr(c datasets.Column, unique bool) string {
	h := func(salt int) string { return fmt.Sprintf("hash(i + %d)", salt*1_000_003) }
	switch {
	case c.Name == "source":
		return "'instance-' || (i % 6)"
	case c.Name == "author_key" && unique:
		return "sha256('k' || i)"
	case c.Name == "author_key":
		return fmt.Sprintf("CASE WHEN %s %% 9 = 0 THEN NULL ELSE sha256('k' || (%s %% 200000)) END", h(1), h(2))
	case unique:
		return fmt.Sprintf("to_base64(encode(%s || ':' || i))", duckdbx.Quote(strings.TrimSuffix(c.Name, "_id")))
	case c.Name == "user_type":
		return fmt.Sprintf("['citoyen','citoyen','citoyen','association','collectif','élu','entreprise','agent'][(%s %% 8)::INT + 1]", h(3))
	case c.Name == "title" || c.Name == "name" || c.Name == "project_title" || c.Name == "label":
		return fmt.Sprintf("['Piste','Jardin','Aire de jeux','Rénovation','Éclairage','Parcours','Bibliothèque','Composteur'][(%s %% 8)::INT + 1] || ' ' || ['cyclable','partagé','du quartier','de l''école','solaire','sportif','numérique','écologique'][(%s %% 8)::INT + 1] || ' n°' || i", h(4), h(5))
	case strings.Contains(c.Name, "url"):
		return "'https://participez.example.fr/project/p-' || (i % 500) || '/proposals/' || i"
	}
	switch c.Type {
	case "VARCHAR":
		return fmt.Sprintf("to_base64(encode(%s || ':' || (%s %% 500)))", duckdbx.Quote(c.Name), h(6))
	case "BIGINT":
		return fmt.Sprintf("CAST(%s %% 100000 AS BIGINT)", h(7))
	case "INTEGER":
		return "CAST(i % 20 AS INTEGER)"
	case "DOUBLE":
		return fmt.Sprintf("CASE WHEN %s %% 4 = 0 THEN NULL ELSE 43.0 + (%s %% 100000) / 100000.0 END", h(8), h(9))
	case "BOOLEAN":
		return fmt.Sprintf("%s %% 5 = 0", h(10))
	case "TIMESTAMPTZ":
		return fmt.Sprintf("TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(CAST(%s %% 31536000 AS BIGINT))", h(11))
	case "DATE":
		return fmt.Sprintf("DATE '2024-01-01' + CAST(%s %% 365 AS INTEGER)", h(12))
	}
	panic("bench: unknown type " + c.Type)
}
