package reports

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/capstat/capstat/internal/catalog"
	"github.com/capstat/capstat/internal/duckdbx"
)

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
	files       []FileEntry // Parquet files then the CSV file, Bytes and SHA256 not yet set
	changes     DatasetChanges
	stats       Stats
}

// writeRelease writes and verifies the whole release into dir: every
// dataset goes from the working table, in one read transaction, through
// the privacy projection and the key checks to Parquet (and CSV when it
// fits a spreadsheet), several datasets at once; as each one is written
// its files are hashed and the snapshot gets its view over them.
func writeRelease(ctx context.Context, working *sql.DB, o Options, id string, now time.Time, dir string, prev *Release) (rel *Release, err error) {
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
	changes := &Changes{ReleaseID: id, Datasets: map[string]DatasetChanges{}}
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
		if !slices.ContainsFunc(out.files, func(f FileEntry) bool { return f.Format == "csv" }) {
			noCSV = append(noCSV, d.Name)
		}
	}
	prevID := ""
	if prev != nil {
		prevID = prev.ID
		changes.PreviousReleaseID = prev.ID
		for name, n := range prev.Manifest.Datasets {
			if _, ok := o.Catalog.Dataset(name); !ok {
				changes.Datasets[name] = DatasetChanges{Removed: n}
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
	hashes.add(snapshotFile)
	st.Snapshot = snapTime + phase("snapshot", tPhase)

	tPhase = time.Now()
	m := &Manifest{ReleaseID: id, CreatedAt: now, PreviousReleaseID: prevID, Licence: o.Licence, Datasets: rows,
		CSVMaxRows: o.CSVMaxRows, DatasetsWithoutCSV: noCSV, Fingerprints: prints}
	for _, out := range outs {
		m.Files = append(m.Files, out.files...)
	}
	m.Files = append(m.Files, FileEntry{Path: snapshotFile, Format: "duckdb"})
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
	return &Release{ID: id, Dir: dir, CreatedAt: now, Manifest: *m, Changes: *changes, Stats: st}, nil
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
func datasetOrder(ctx context.Context, conn *sql.Conn, cat *catalog.Catalog) ([]int, error) {
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

// writeDataset writes dataset d in one read transaction of the working
// database, so that the checks, the Parquet and CSV files and the changes
// all see the same rows:
//
//  1. one scan of the privacy projection counts the rows, checks the primary
//     key (no NULL, no duplicate) and sums a hash of every row (the dataset's
//     fingerprint, which tells an unchanged dataset from the previous
//     release's without a diff);
//  2. COPY of the projection to Parquet (hive partitions by source when
//     partition is set), with per-file row counts from RETURN_STATS;
//  3. COPY to CSV when the dataset fits a spreadsheet (Options.CSVMaxRows);
//  4. the changes since prev: none when the fingerprints match, else a
//     diff on the primary key against prev's Parquet files.
func writeDataset(ctx context.Context, conn *sql.Conn, o Options, d *catalog.Dataset, dir, id string, partition bool, prev *Release, checked keyCheck) (out *datasetOutput, err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		end := "COMMIT"
		if err != nil {
			end = "ROLLBACK"
		}
		if _, cErr := conn.ExecContext(context.WithoutCancel(ctx), end); cErr != nil && err == nil {
			out, err = nil, fmt.Errorf("commit: %w", cErr)
		}
	}()
	proj := projection(d, o.Privacy)
	src := fmt.Sprintf("(SELECT %s FROM %s)", proj, tableRef(d.Table))
	out = &datasetOutput{}

	t0 := time.Now()
	n, fp, err := checkDataset(ctx, conn, d, src, proj, checked)
	if err != nil {
		return nil, err
	}
	out.rows, out.fingerprint = n, fp
	out.stats.Checks = time.Since(t0)

	t0 = time.Now()
	partition = partition && n > 0
	skip := ""
	if partition {
		skip = "source"
	}
	kv, err := parquetKV(d, id, o.Licence, skip)
	if err != nil {
		return nil, err
	}
	opts := fmt.Sprintf("FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE %d, KV_METADATA %s, RETURN_STATS", rowGroup, kvSQL(kv))
	files, err := writeParquet(ctx, conn, src, filepath.Join(dir, "data", d.Name), opts, dir, partition)
	if err != nil {
		return nil, fmt.Errorf("write Parquet: %w", err)
	}
	var total int64
	for i := range files {
		files[i].Dataset, files[i].Format = d.Name, "parquet"
		total += *files[i].Rows
	}
	if total != n {
		return nil, fmt.Errorf("write Parquet: wrote %d rows in %d files, want %d", total, len(files), n)
	}
	out.files = files
	out.stats.Parquet = time.Since(t0)

	if n <= o.CSVMaxRows {
		t0 = time.Now()
		csvOpts := `FORMAT csv, HEADER true, DELIMITER ',', QUOTE '"', ESCAPE '"', NEW_LINE '\r\n', TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ', DATEFORMAT '%Y-%m-%d'`
		path := "csv/" + d.Name + ".csv"
		if err := copyTo(ctx, conn, src, filepath.Join(dir, filepath.FromSlash(path)), csvOpts, n); err != nil {
			return nil, fmt.Errorf("write CSV: %w", err)
		}
		rows := n
		out.files = append(out.files, FileEntry{Path: path, Rows: &rows, Dataset: d.Name, Format: "csv"})
		out.stats.CSV = time.Since(t0)
	}

	t0 = time.Now()
	out.changes, err = datasetChanges(ctx, conn, d, src, n, fp, prev)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	out.stats.Changes = time.Since(t0)
	return out, nil
}

// checkDataset returns the row count and fingerprint of the projection
// src (the fingerprint tells an unchanged dataset from the previous
// release's without a diff) after checking its primary key: no NULL, no
// duplicate.
//
// When transform's data tests found the key of d.Table unique and not null
// in the transaction that built it (catalog.KeyChecksTable) and the
// projection still has the row count and key sum they saw, one scan of the
// key columns is enough: the exact key check is skipped and the
// fingerprint hashes transform's content sum of the table together with
// the projection's SQL (proj: casts and privacy policy, so the same table
// under another policy gets another fingerprint). Otherwise (the
// table changed since, rows were suppressed, an older working database) a
// scan of every column counts the rows and NULL keys, sums a hash of the
// keys and a hash of every row (equal for the same rows in any order), and
// the exact key check runs when that cannot rule duplicates out.
func checkDataset(ctx context.Context, conn *sql.Conn, d *catalog.Dataset, src, proj string, checked keyCheck) (int64, string, error) {
	sig := sha256.New()
	for _, c := range d.Columns {
		fmt.Fprintf(sig, "%s %s\n", c.Name, c.Type)
	}
	if len(d.PrimaryKey) > 0 && checked.found && checked.contentSum != "" {
		var n, nullKeys int64
		var keys string
		if err := conn.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*), %s, count(*) FILTER (WHERE %s) FROM %s AS p",
			catalog.HashSumSQL(d.PrimaryKey), nullsOf(d.PrimaryKey), src)).Scan(&n, &keys, &nullKeys); err != nil {
			return 0, "", fmt.Errorf("read %s: %w", d.Table, err)
		}
		if n == checked.rows && keys == checked.keySum && nullKeys == 0 {
			fmt.Fprintf(sig, "%s\n%d transform %s", proj, n, checked.contentSum)
			return n, hex.EncodeToString(sig.Sum(nil)), nil
		}
	}
	keyCount, nullCount := "0", "0"
	if len(d.PrimaryKey) > 0 {
		keyCount = fmt.Sprintf("count(DISTINCT hash(%s))", identList(d.PrimaryKey))
		if checked.found {
			keyCount = catalog.HashSumSQL(d.PrimaryKey)
		}
		nullCount = fmt.Sprintf("count(*) FILTER (WHERE %s)", nullsOf(d.PrimaryKey))
	}
	var n, nullKeys int64
	var keys, sum string
	if err := conn.QueryRowContext(ctx, fmt.Sprintf(
		"SELECT count(*), %s, %s, %s FROM %s AS p",
		keyCount, nullCount, catalog.HashSumSQL(d.ColumnNames()), src)).Scan(&n, &keys, &nullKeys, &sum); err != nil {
		return 0, "", fmt.Errorf("read %s: %w", d.Table, err)
	}
	fmt.Fprintf(sig, "%d %s", n, sum)
	fp := hex.EncodeToString(sig.Sum(nil))
	if len(d.PrimaryKey) == 0 {
		return n, fp, nil
	}
	// The exact (slower) check runs when the key hashes collide, or when
	// the table is not the one transform checked.
	var dups int64
	trusted := checked.found && checked.rows == n && checked.keySum == keys
	if !trusted && (checked.found || keys != strconv.FormatInt(n, 10)) {
		if err := conn.QueryRowContext(ctx, fmt.Sprintf(
			"SELECT count(*) FROM (SELECT 1 FROM %s AS p GROUP BY %s HAVING count(*) > 1)", src, identList(d.PrimaryKey))).Scan(&dups); err != nil {
			return 0, "", fmt.Errorf("check primary key: %w", err)
		}
	}
	if dups > 0 || nullKeys > 0 {
		return 0, "", fmt.Errorf("primary key (%s) of %s is violated: %d duplicated keys, %d rows with a NULL key",
			strings.Join(d.PrimaryKey, ", "), d.Table, dups, nullKeys)
	}
	return n, fp, nil
}

// nullsOf is the condition "one of the key columns is NULL".
func nullsOf(key []string) string {
	nulls := make([]string, len(key))
	for i, k := range key {
		nulls[i] = duckdbx.Ident(k) + " IS NULL"
	}
	return strings.Join(nulls, " OR ")
}

// keyCheck is what transform recorded about a table's primary key.
type keyCheck struct {
	found      bool
	rows       int64
	keySum     string
	contentSum string // "" in a working database older than content sums
}

// keyChecks reads transform's records of passing key checks, by table
// (none for an older working database).
func keyChecks(ctx context.Context, conn *sql.Conn) (map[string]keyCheck, error) {
	out := map[string]keyCheck{}
	schema, name, _ := strings.Cut(catalog.KeyChecksTable, ".")
	var exists, hasContent bool
	if err := conn.QueryRowContext(ctx, `SELECT count(*) > 0, count(*) FILTER (WHERE column_name = 'content_sum') > 0
		FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ? AND table_name = ?`, schema, name).Scan(&exists, &hasContent); err != nil {
		return nil, fmt.Errorf("read key checks: %w", err)
	}
	if !exists {
		return out, nil
	}
	content := "''"
	if hasContent {
		content = "content_sum"
	}
	rows, err := conn.QueryContext(ctx, `SELECT table_name, row_count, key_sum, `+content+` FROM `+catalog.KeyChecksTable)
	if err != nil {
		return nil, fmt.Errorf("read key checks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		k := keyCheck{found: true}
		if err := rows.Scan(&table, &k.rows, &k.keySum, &k.contentSum); err != nil {
			return nil, fmt.Errorf("read key checks: %w", err)
		}
		out[table] = k
	}
	return out, rows.Err()
}

// partitionValue is a source value that can name a hive partition folder
// as it is (config source names always can).
var partitionValue = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// writeParquet writes the projection src as Parquet under target (the
// dataset's folder) and returns the files written, relative to dir, with
// their row counts.
//
// Unpartitioned, it is one file, <dataset>.parquet. Partitioned, it is one
// file per source, source=<value>/part-0.parquet, written by one COPY per
// source filtered on it: on 2 cores this takes about 15 % less CPU than one
// COPY … PARTITION_BY (source), which hashes and buffers every row by
// partition (bench/publish/results.txt). When a source value could not
// name a folder as it is (or is NULL), PARTITION_BY writes it, escaped.
func writeParquet(ctx context.Context, conn *sql.Conn, src, target, opts, dir string, partition bool) ([]FileEntry, error) {
	if !partition {
		if err := os.MkdirAll(target, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", target, err)
		}
		return copyParquet(ctx, conn, src, filepath.Join(target, filepath.Base(target)+".parquet"), opts, dir)
	}
	sources, err := partitionValues(ctx, conn, src)
	if err != nil {
		return nil, err
	}
	if sources == nil {
		return copyParquet(ctx, conn, src, target, opts+", PARTITION_BY (source), FILENAME_PATTERN 'part-{i}'", dir)
	}
	var files []FileEntry
	for _, v := range sources {
		folder := filepath.Join(target, "source="+v)
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", folder, err)
		}
		part := fmt.Sprintf("(SELECT * EXCLUDE (source) FROM %s AS p WHERE source = %s)", src, duckdbx.Quote(v))
		f, err := copyParquet(ctx, conn, part, filepath.Join(folder, "part-0.parquet"), opts, dir)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", v, err)
		}
		files = append(files, f...)
	}
	return files, nil
}

// partitionValues returns the distinct sources of src, sorted, or nil when
// one of them cannot name a partition folder as it is.
func partitionValues(ctx context.Context, conn *sql.Conn, src string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT DISTINCT source FROM "+src+" AS p ORDER BY 1")
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	defer rows.Close()
	var out []string
	safe := true
	for rows.Next() {
		var v sql.NullString
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("list sources: %w", err)
		}
		safe = safe && v.Valid && partitionValue.MatchString(v.String)
		out = append(out, v.String)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	if !safe {
		return nil, nil
	}
	return out, nil
}

// copyParquet runs a COPY … (RETURN_STATS) and returns the files written
// (paths relative to dir) with their row counts, sorted by path.
func copyParquet(ctx context.Context, conn *sql.Conn, src, target, opts, dir string) ([]FileEntry, error) {
	rows, err := conn.QueryContext(ctx, fmt.Sprintf("COPY %s TO %s (%s)", src, duckdbx.Quote(target), opts))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var files []FileEntry
	for rows.Next() {
		vals, err := duckdbx.ScanAny(rows, len(cols))
		if err != nil {
			return nil, err
		}
		var name string
		var n int64
		for i, c := range cols {
			switch c {
			case "filename":
				name, _ = vals[i].(string)
			case "count":
				switch v := vals[i].(type) {
				case int64:
					n = v
				case uint64:
					n = int64(v)
				}
			}
		}
		if name == "" {
			return nil, fmt.Errorf("COPY returned no file name (columns %v)", cols)
		}
		files = append(files, FileEntry{Path: rel(dir, name), Rows: &n})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b FileEntry) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

func copyTo(ctx context.Context, conn *sql.Conn, src, path, opts string, want int64) error {
	res, err := conn.ExecContext(ctx, fmt.Sprintf("COPY %s TO %s (%s)", src, duckdbx.Quote(path), opts))
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("%s: wrote %d rows, want %d", path, n, want)
	}
	return nil
}

func identList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = duckdbx.Ident(c)
	}
	return strings.Join(q, ", ")
}

func rel(dir, p string) string {
	r, err := filepath.Rel(dir, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

// writeMetadata writes changes.json, datapackage.json, README.md and
// finally manifest.json (which lists the others).
func writeMetadata(dir string, o Options, m *Manifest, changes *Changes, partitioned map[string]bool) error {
	lic := licences[o.Licence]
	if err := writeJSON(filepath.Join(dir, changesFile), changes); err != nil {
		return err
	}
	dp, err := buildDataPackage(o.Catalog, m, lic, o.Sources)
	if err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, datapackageFile), dp); err != nil {
		return err
	}
	readme := buildReadme(o.Catalog, m, lic, o.Privacy, partitioned)
	if err := os.WriteFile(filepath.Join(dir, readmeFile), []byte(readme), 0o644); err != nil {
		return fmt.Errorf("write README: %w", err)
	}
	meta := []FileEntry{
		{Path: changesFile, Format: "json"},
		{Path: datapackageFile, Format: "json"},
		{Path: readmeFile, Format: "markdown"},
	}
	if err := hashEntries(dir, meta); err != nil {
		return err
	}
	m.Files = append(m.Files, meta...)
	return writeJSON(filepath.Join(dir, manifestFile), m)
}
