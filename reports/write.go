package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
)

// Writing a release: every dataset on a few connections at once, then
// its metadata (changes, datapackage, README, manifest last).

const rowGroup = 122880

// SpreadsheetMaxRows is the default Options.CSVMaxRows: the data rows of
// one sheet in Excel and LibreOffice Calc (1,048,576 rows, header
// included). A larger CSV cannot be opened by any spreadsheet, so it is not
// written: Parquet, the snapshot and the query service's CSV export serve
// those datasets.
const SpreadsheetMaxRows = 1_048_575

// DefaultWorkers is the default number of datasets written at once
// (Options.Workers). DuckDB's partitioned Parquet writes and CSV writes
// keep about one core busy each; three at once fill two cores best
// (measured against two).
const DefaultWorkers = 3

// datasetOutput is what writing one dataset produced.
type datasetOutput struct {
	rows        int64
	fingerprint string
	files       []release.FileEntry // Parquet files then the CSV file, Bytes and SHA256 not yet set
	changes     release.DatasetChanges
	stats       Stats
}

// writeRelease writes and verifies the whole release into dir: every
// dataset goes from the working table, in one read transaction, through
// the privacy projection and the key checks to Parquet (and CSV when it
// fits a spreadsheet), several datasets at once; as each one is written
// its files are hashed and the snapshot gets its view over them.
func writeRelease(ctx context.Context, working *sql.DB, o Options, id string, now time.Time, dir string, prev *release.Release) (rel *Published, err error) {
	for _, sub := range []string{"data", "csv"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("create release dir: %w", err)
		}
	}
	main, err := working.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("working database: %w", err)
	}
	defer main.Close()
	restore, err := duckdbx.Set(ctx, main, globalSettings)
	if err != nil {
		return nil, err
	}
	defer restore()

	order, err := datasetOrder(ctx, main, o.Catalog)
	if err != nil {
		return nil, err
	}
	checks, err := keyChecks(ctx, main)
	if err != nil {
		return nil, err
	}
	partitioned := map[string]bool{}
	for _, p := range o.Partitioned {
		partitioned[p] = true
	}
	hashes := newHasher(ctx, dir)
	defer hashes.stop()

	snap, err := newSnapshotWriter(ctx, dir)
	if err != nil {
		return nil, err
	}
	snapDone := false
	defer func() {
		if !snapDone {
			snap.abort()
		}
	}()
	outs := make([]*datasetOutput, len(o.Catalog.Datasets))
	var snapTime time.Duration
	var snapMu sync.Mutex
	write := func(ctx context.Context, conn *sql.Conn, i int) error {
		d := &o.Catalog.Datasets[i]
		out, err := writeDataset(ctx, conn, o, d, dir, id, partitioned[d.Name], prev, checks[d.Table])
		if err != nil {
			return fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		for _, f := range out.files {
			hashes.add(f.Path)
		}
		t0 := time.Now()
		if err := snap.add(ctx, d); err != nil {
			return err
		}
		snapMu.Lock()
		snapTime += time.Since(t0)
		snapMu.Unlock()
		outs[i] = out
		o.Logger.DebugContext(ctx, "publish: dataset written", "dataset", d.Name, "rows", out.rows,
			"checks", out.stats.Checks, "parquet", out.stats.Parquet, "csv", out.stats.CSV, "changes", out.stats.Changes)
		return nil
	}
	if err := writeDatasets(ctx, working, main, o.Workers, order, write); err != nil {
		return nil, err
	}

	var st Stats
	rows := map[string]int64{}
	prints := map[string]string{}
	changes := &release.Changes{ReleaseID: id, Datasets: map[string]release.DatasetChanges{}}
	noCSV := []string{}
	for i, d := range o.Catalog.Datasets {
		out := outs[i]
		rows[d.Name] = out.rows
		prints[d.Name] = out.fingerprint
		changes.Datasets[d.Name] = out.changes
		st.Checks += out.stats.Checks
		st.Parquet += out.stats.Parquet
		st.CSV += out.stats.CSV
		st.Changes += out.stats.Changes
		st.Rows += out.rows
		if !slices.ContainsFunc(out.files, func(f release.FileEntry) bool { return f.Format == "csv" }) {
			noCSV = append(noCSV, d.Name)
		}
	}
	prevID := ""
	if prev != nil {
		prevID = prev.ID
		changes.PreviousReleaseID = prev.ID
		for name, n := range prev.Manifest.Datasets {
			if _, ok := o.Catalog.Dataset(name); !ok {
				changes.Datasets[name] = release.DatasetChanges{Removed: n}
			}
		}
	}

	phase := func(name string, since time.Time) time.Duration {
		d := time.Since(since)
		o.Logger.DebugContext(ctx, "publish: phase done", "phase", name, "elapsed", d)
		return d
	}
	tPhase := time.Now()
	snapDone = true
	if err := snap.finish(ctx, id, now, prevID); err != nil {
		return nil, err
	}
	hashes.add(release.SnapshotFile)
	st.Snapshot = snapTime + phase("snapshot", tPhase)

	tPhase = time.Now()
	m := &release.Manifest{ReleaseID: id, CreatedAt: now, PreviousReleaseID: prevID, Licence: o.Licence, Datasets: rows,
		CSVMaxRows: o.CSVMaxRows, DatasetsWithoutCSV: noCSV, Fingerprints: prints}
	for _, s := range o.Sources {
		if !s.DataAsOf.IsZero() {
			if m.DataAsOf == nil {
				m.DataAsOf = map[string]time.Time{}
			}
			m.DataAsOf[s.Name] = s.DataAsOf.UTC()
		}
	}
	for _, out := range outs {
		m.Files = append(m.Files, out.files...)
	}
	m.Files = append(m.Files, release.FileEntry{Path: release.SnapshotFile, Format: "duckdb"})
	sums, err := hashes.wait()
	if err != nil {
		return nil, err
	}
	for i := range m.Files {
		s := sums[m.Files[i].Path]
		m.Files[i].Bytes, m.Files[i].SHA256 = s.bytes, s.sha256
	}
	if err := writeMetadata(dir, o, m, changes, partitioned); err != nil {
		return nil, err
	}
	st.Metadata = phase("manifest", tPhase)
	tPhase = time.Now()
	if err := verifyRelease(ctx, main, dir, m); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	st.Verify = phase("verify", tPhase)
	for _, f := range m.Files {
		st.Bytes += f.Bytes
	}
	return &Published{Release: release.Release{ID: id, Dir: dir, CreatedAt: now, Manifest: *m, Changes: *changes}, Stats: st}, nil
}

// writeDatasets calls write for every dataset index of order, on
// workers connections of db at once when its pool allows it (else
// one after the other on main), and stops at the first error.
func writeDatasets(ctx context.Context, db *sql.DB, main *sql.Conn, workers int, order []int, write func(context.Context, *sql.Conn, int) error) error {
	if max := db.Stats().MaxOpenConnections; max != 0 && max < workers+1 {
		for _, i := range order {
			if err := write(ctx, main, i); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			err := runWorker(ctx, db, jobs, write)
			if err != nil {
				cancel(err)
			}
		})
	}
feed:
	for _, i := range order {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return context.Cause(ctx)
}

// runWorker runs write for every job on its own connection of db, set up
// like the main one (UTC session time zone). After an error it only drains
// the jobs.
func runWorker(ctx context.Context, db *sql.DB, jobs <-chan int, write func(context.Context, *sql.Conn, int) error) (err error) {
	defer func() {
		for range jobs {
		}
	}()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("working database: %w", err)
	}
	defer conn.Close()
	restore, err := duckdbx.Set(ctx, conn, localSettings)
	if err != nil {
		return err
	}
	defer restore()
	for i := range jobs {
		if err := write(ctx, conn, i); err != nil {
			return err
		}
	}
	return nil
}

var (
	// localSettings apply to one connection: CSV timestamps and
	// date_trunc in UTC.
	localSettings = [][2]string{{"TimeZone", "UTC"}}
	// globalSettings apply to the whole working database while publishing:
	// row order carries no meaning in a release, and DuckDB writes faster
	// without preserving it.
	globalSettings = [][2]string{{"TimeZone", "UTC"}, {"preserve_insertion_order", "false"}}
)

// datasetOrder checks that every working table exists with the catalogue's
// columns and returns the dataset indexes, largest table first (so the
// longest write starts first and the small ones fill the other worker).
func datasetOrder(ctx context.Context, conn *sql.Conn, cat *datasets.Contract) ([]int, error) {
	type tableInfo struct {
		cols map[string]bool
		size int64
	}
	tables := map[[2]string]*tableInfo{}
	rows, err := conn.QueryContext(ctx, `SELECT c.schema_name, c.table_name, c.column_name, coalesce(t.estimated_size, 0)
		FROM duckdb_columns() c LEFT JOIN duckdb_tables() t
		  ON t.database_name = c.database_name AND t.schema_name = c.schema_name AND t.table_name = c.table_name
		WHERE c.database_name = current_database()`)
	if err != nil {
		return nil, fmt.Errorf("read working tables: %w", err)
	}
	for rows.Next() {
		var schema, table, col string
		var size int64
		if err := rows.Scan(&schema, &table, &col, &size); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read working tables: %w", err)
		}
		k := [2]string{schema, table}
		if tables[k] == nil {
			tables[k] = &tableInfo{cols: map[string]bool{}, size: size}
		}
		tables[k].cols[col] = true
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("read working tables: %w", err)
	}
	sizes := make([]int64, len(cat.Datasets))
	order := make([]int, len(cat.Datasets))
	for i, d := range cat.Datasets {
		schema, table, ok := strings.Cut(d.Table, ".")
		if !ok {
			schema, table = "main", d.Table
		}
		t := tables[[2]string{schema, table}]
		if t == nil {
			return nil, fmt.Errorf("dataset %s: working table %s does not exist (run transform first)", d.Name, d.Table)
		}
		var missing []string
		for _, c := range d.Columns {
			if !t.cols[c.Name] {
				missing = append(missing, c.Name)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("dataset %s: working table %s lacks catalogue columns %s", d.Name, d.Table, strings.Join(missing, ", "))
		}
		sizes[i], order[i] = t.size, i
	}
	sort.SliceStable(order, func(a, b int) bool { return sizes[order[a]] > sizes[order[b]] })
	return order, nil
}

// writeMetadata writes changes.json, datapackage.json, README.md and
// finally manifest.json (which lists the others).
func writeMetadata(dir string, o Options, m *release.Manifest, changes *release.Changes, partitioned map[string]bool) error {
	lic := licences[o.Licence]
	if err := release.WriteJSON(filepath.Join(dir, release.ChangesFile), changes); err != nil {
		return err
	}
	dp, err := buildDataPackage(o.Catalog, m, lic, o.Sources)
	if err != nil {
		return err
	}
	if err := release.WriteJSON(filepath.Join(dir, release.DatapackageFile), dp); err != nil {
		return err
	}
	readme := buildReadme(o.Catalog, m, lic, o.Privacy, partitioned)
	if err := os.WriteFile(filepath.Join(dir, release.ReadmeFile), []byte(readme), 0o644); err != nil {
		return fmt.Errorf("write README: %w", err)
	}
	meta := []release.FileEntry{
		{Path: release.ChangesFile, Format: "json"},
		{Path: release.DatapackageFile, Format: "json"},
		{Path: release.ReadmeFile, Format: "markdown"},
	}
	if err := hashEntries(dir, meta); err != nil {
		return err
	}
	m.Files = append(m.Files, meta...)
	return release.WriteJSON(filepath.Join(dir, release.ManifestFile), m)
}
