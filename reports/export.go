package reports

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/capstat/capstat/internal/catalog"
	"github.com/capstat/capstat/internal/duckdbx"
)

const rowGroup = 122880

// aliases names the databases a publish attaches to the working database.
// Attached databases are shared by every connection of a DuckDB instance,
// so the names are unique per publish.
type aliases struct{ cur, prev string }

func newAliases() aliases {
	var b [6]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	return aliases{cur: "capstat_release_" + suffix, prev: "capstat_previous_" + suffix}
}

// writeRelease writes and verifies the whole release into dir.
func writeRelease(ctx context.Context, working *sql.DB, o Options, id string, now time.Time, dir string, prev *Release) (rel *Release, err error) {
	for _, sub := range []string{"data", "csv"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("create release dir: %w", err)
		}
	}
	conn, err := working.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("working database: %w", err)
	}
	defer conn.Close()
	restore, err := sessionSettings(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer restore()

	snapshot := filepath.Join(dir, snapshotFile)
	al := newAliases()
	newAlias := al.cur
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("ATTACH %s AS %s (READ_WRITE)", lit(snapshot), newAlias)); err != nil {
		return nil, fmt.Errorf("create snapshot: %w", err)
	}
	attached := true
	defer func() {
		if attached {
			if _, dErr := conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE IF EXISTS "+newAlias); dErr != nil && err == nil {
				err = fmt.Errorf("detach snapshot: %w", dErr)
			}
		}
	}()
	if _, err := conn.ExecContext(ctx, "CREATE SCHEMA "+newAlias+".data"); err != nil {
		return nil, fmt.Errorf("create snapshot: %w", err)
	}

	partitioned := map[string]bool{}
	for _, p := range o.Partitioned {
		partitioned[p] = true
	}
	rows := map[string]int64{}
	var st Stats
	for i := range o.Catalog.Datasets {
		d := &o.Catalog.Datasets[i]
		t0 := time.Now()
		n, err := materialise(ctx, conn, newAlias, d, o.Privacy)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		rows[d.Name] = n
		tMat := time.Since(t0)
		tPq, tCSV, err := exportFiles(ctx, conn, newAlias, d, dir, id, o.Licence, partitioned[d.Name] && n > 0, n)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		st.Snapshot += tMat
		st.Parquet += tPq
		st.CSV += tCSV
		st.Rows += n
		o.Logger.DebugContext(ctx, "publish: dataset written", "dataset", d.Name, "rows", n,
			"snapshot", tMat, "parquet", tPq, "csv", tCSV)
	}

	phase := func(name string, since time.Time) time.Duration {
		d := time.Since(since)
		o.Logger.DebugContext(ctx, "publish: phase done", "phase", name, "elapsed", d)
		return d
	}
	tPhase := time.Now()
	prevID := ""
	if prev != nil {
		prevID = prev.ID
	}
	changes, err := computeChanges(ctx, conn, al, o.Catalog, id, prev, rows)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "DETACH DATABASE "+newAlias); err != nil {
		return nil, fmt.Errorf("detach snapshot: %w", err)
	}
	attached = false
	st.Changes = phase("changes", tPhase)
	tPhase = time.Now()
	if err := finishSnapshot(ctx, snapshot, o.Catalog, id, now, prevID); err != nil {
		return nil, err
	}
	st.Metadata = phase("snapshot views", tPhase)
	tPhase = time.Now()

	m := &Manifest{ReleaseID: id, CreatedAt: now, PreviousReleaseID: prevID, Licence: o.Licence, Datasets: rows}
	if err := listDataFiles(ctx, conn, dir, o.Catalog, m); err != nil {
		return nil, err
	}
	if err := writeMetadata(dir, o, m, changes, partitioned); err != nil {
		return nil, err
	}
	st.Metadata += phase("manifest", tPhase)
	tPhase = time.Now()
	if err := verifyRelease(ctx, conn, dir, m); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	st.Verify = phase("verify", tPhase)
	for _, f := range m.Files {
		st.Bytes += f.Bytes
	}
	return &Release{ID: id, Dir: dir, CreatedAt: now, Manifest: *m, Changes: *changes, Stats: st}, nil
}

// sessionSettings applies the settings a release needs on the working
// connection and returns a function restoring the caller's values:
// TimeZone UTC (CSV timestamps, date_trunc) and no insertion-order
// preservation (row order carries no meaning in a release, and DuckDB
// writes faster without it).
func sessionSettings(ctx context.Context, conn *sql.Conn) (func(), error) {
	settings := [][2]string{{"TimeZone", "'UTC'"}, {"preserve_insertion_order", "false"}}
	var olds []string
	restore := func() {
		for i, old := range olds {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("SET %s = %s", settings[i][0], old))
		}
	}
	for _, kv := range settings {
		var old string
		if err := conn.QueryRowContext(ctx, "SELECT current_setting("+lit(kv[0])+")::VARCHAR").Scan(&old); err != nil {
			restore()
			return nil, fmt.Errorf("read setting %s: %w", kv[0], err)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET %s = %s", kv[0], kv[1])); err != nil {
			restore()
			return nil, fmt.Errorf("set %s: %w", kv[0], err)
		}
		olds = append(olds, lit(old))
	}
	return restore, nil
}

// materialise copies the working table of d into the snapshot with the
// catalogue's columns and types and the privacy policy, then checks the
// primary key. It returns the row count.
func materialise(ctx context.Context, conn *sql.Conn, newAlias string, d *catalog.Dataset, p Privacy) (int64, error) {
	schema, table, ok := strings.Cut(d.Table, ".")
	if !ok {
		schema, table = "main", d.Table
	}
	q, err := conn.QueryContext(ctx, `SELECT column_name FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = ? AND table_name = ?`, schema, table)
	if err != nil {
		return 0, fmt.Errorf("read columns of %s: %w", d.Table, err)
	}
	have := map[string]bool{}
	for q.Next() {
		var c string
		if err := q.Scan(&c); err != nil {
			q.Close()
			return 0, fmt.Errorf("read columns of %s: %w", d.Table, err)
		}
		have[c] = true
	}
	if err := errors.Join(q.Err(), q.Close()); err != nil {
		return 0, fmt.Errorf("read columns of %s: %w", d.Table, err)
	}
	if len(have) == 0 {
		return 0, fmt.Errorf("working table %s does not exist (run transform first)", d.Table)
	}
	var missing []string
	for _, c := range d.Columns {
		if !have[c.Name] {
			missing = append(missing, c.Name)
		}
	}
	if len(missing) > 0 {
		return 0, fmt.Errorf("working table %s lacks catalogue columns %s", d.Table, strings.Join(missing, ", "))
	}
	target := newAlias + ".data." + ident(d.Name)
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT %s FROM %s",
		target, projection(d, p), tableRef(d.Table))); err != nil {
		return 0, fmt.Errorf("copy %s into the snapshot: %w", d.Table, err)
	}
	if len(d.PrimaryKey) == 0 {
		var n int64
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+target).Scan(&n); err != nil {
			return 0, fmt.Errorf("count rows: %w", err)
		}
		return n, nil
	}
	// One scan counts the rows, the NULL keys and the distinct key hashes;
	// only when the hashes collide does the exact (slower) check run.
	keys := identList(d.PrimaryKey)
	var nulls []string
	for _, k := range d.PrimaryKey {
		nulls = append(nulls, ident(k)+" IS NULL")
	}
	var n, distinct, nullKeys int64
	if err := conn.QueryRowContext(ctx, fmt.Sprintf(
		"SELECT count(*), count(DISTINCT hash(%s)), count(*) FILTER (WHERE %s) FROM %s",
		keys, strings.Join(nulls, " OR "), target)).Scan(&n, &distinct, &nullKeys); err != nil {
		return 0, fmt.Errorf("check primary key: %w", err)
	}
	var dups int64
	if distinct != n {
		if err := conn.QueryRowContext(ctx, fmt.Sprintf(
			"SELECT count(*) FROM (SELECT 1 FROM %s GROUP BY %s HAVING count(*) > 1)", target, keys)).Scan(&dups); err != nil {
			return 0, fmt.Errorf("check primary key: %w", err)
		}
	}
	if dups > 0 || nullKeys > 0 {
		return 0, fmt.Errorf("primary key (%s) of %s is violated: %d duplicated keys, %d rows with a NULL key",
			strings.Join(d.PrimaryKey, ", "), d.Table, dups, nullKeys)
	}
	return n, nil
}

// exportFiles writes the Parquet and CSV files of d from the snapshot.
func exportFiles(ctx context.Context, conn *sql.Conn, newAlias string, d *catalog.Dataset, dir, id, licence string, partition bool, want int64) (tParquet, tCSV time.Duration, err error) {
	src := newAlias + ".data." + ident(d.Name)
	skip := ""
	if partition {
		skip = "source"
	}
	kv, err := parquetKV(d, id, licence, skip)
	if err != nil {
		return 0, 0, err
	}
	out := filepath.Join(dir, "data", d.Name)
	opts := fmt.Sprintf("FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE %d, KV_METADATA %s", rowGroup, kvSQL(kv))
	if partition {
		opts += ", PARTITION_BY (source), FILENAME_PATTERN 'part-{i}'"
	} else {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return 0, 0, fmt.Errorf("create %s: %w", out, err)
		}
		out = filepath.Join(out, d.Name+".parquet")
	}
	t0 := time.Now()
	if err := copyTo(ctx, conn, src, out, opts, want); err != nil {
		return 0, 0, fmt.Errorf("write Parquet: %w", err)
	}
	tParquet = time.Since(t0)
	t0 = time.Now()
	csvOpts := `FORMAT csv, HEADER true, DELIMITER ',', QUOTE '"', ESCAPE '"', NEW_LINE '\r\n', TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ', DATEFORMAT '%Y-%m-%d'`
	if err := copyTo(ctx, conn, src, filepath.Join(dir, "csv", d.Name+".csv"), csvOpts, want); err != nil {
		return 0, 0, fmt.Errorf("write CSV: %w", err)
	}
	return tParquet, time.Since(t0), nil
}

func copyTo(ctx context.Context, conn *sql.Conn, src, path, opts string, want int64) error {
	res, err := conn.ExecContext(ctx, fmt.Sprintf("COPY %s TO %s (%s)", src, lit(path), opts))
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
		q[i] = ident(c)
	}
	return strings.Join(q, ", ")
}

// finishSnapshot adds the views main.<dataset>, the release_info view and
// the catalogue descriptions as comments to the snapshot, then closes it.
func finishSnapshot(ctx context.Context, path string, cat *catalog.Catalog, id string, now time.Time, prevID string) (err error) {
	db, err := duckdbx.Open(ctx, path)
	if err != nil {
		return fmt.Errorf("finish snapshot: %w", err)
	}
	defer func() {
		if cErr := db.Close(); cErr != nil && err == nil {
			err = fmt.Errorf("close snapshot: %w", cErr)
		}
	}()
	prev := "NULL"
	if prevID != "" {
		prev = lit(prevID)
	}
	stmts := []string{
		fmt.Sprintf("CREATE VIEW main.release_info AS SELECT %s AS release_id, %s::TIMESTAMPTZ AS created_at, %s::VARCHAR AS previous_release_id",
			lit(id), lit(now.UTC().Format(time.RFC3339)), prev),
	}
	for _, d := range cat.Datasets {
		t := "data." + ident(d.Name)
		stmts = append(stmts,
			fmt.Sprintf("CREATE VIEW main.%s AS SELECT * FROM %s", ident(d.Name), t),
			fmt.Sprintf("COMMENT ON TABLE %s IS %s", t, lit(d.Description+" / "+d.DescriptionFR)),
			fmt.Sprintf("COMMENT ON VIEW main.%s IS %s", ident(d.Name), lit(d.Description+" / "+d.DescriptionFR)))
		for _, c := range d.Columns {
			stmts = append(stmts, fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", t, ident(c.Name), lit(c.Description+" / "+c.DescriptionFR)))
		}
	}
	stmts = append(stmts, "CHECKPOINT")
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("finish snapshot: %s: %w", firstWords(s), err)
		}
	}
	return nil
}

func firstWords(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// listDataFiles fills m.Files with the Parquet, CSV and snapshot files,
// their sizes, SHA-256 and (for Parquet and CSV) row counts.
func listDataFiles(ctx context.Context, conn *sql.Conn, dir string, cat *catalog.Catalog, m *Manifest) error {
	var entries []FileEntry
	for _, d := range cat.Datasets {
		var parquet []string
		root := filepath.Join(dir, "data", d.Name)
		err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() {
				parquet = append(parquet, p)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("list Parquet files of %s: %w", d.Name, err)
		}
		slices.Sort(parquet)
		counts, err := parquetRows(ctx, conn, parquet)
		if err != nil {
			return fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		for _, p := range parquet {
			n := counts[p]
			entries = append(entries, FileEntry{Path: rel(dir, p), Rows: &n, Dataset: d.Name, Format: "parquet"})
		}
		n := m.Datasets[d.Name]
		entries = append(entries, FileEntry{Path: "csv/" + d.Name + ".csv", Rows: &n, Dataset: d.Name, Format: "csv"})
	}
	entries = append(entries, FileEntry{Path: snapshotFile, Format: "duckdb"})
	if err := hashEntries(dir, entries); err != nil {
		return err
	}
	m.Files = entries
	return nil
}

// parquetRows reads the row counts of Parquet files from their footers.
func parquetRows(ctx context.Context, conn *sql.Conn, files []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(files) == 0 {
		return out, nil
	}
	lits := make([]string, len(files))
	for i, f := range files {
		lits[i] = lit(f)
	}
	rows, err := conn.QueryContext(ctx, "SELECT file_name, num_rows FROM parquet_file_metadata(["+strings.Join(lits, ", ")+"])")
	if err != nil {
		return nil, fmt.Errorf("read Parquet footers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f string
		var n int64
		if err := rows.Scan(&f, &n); err != nil {
			return nil, fmt.Errorf("read Parquet footers: %w", err)
		}
		out[f] = n
	}
	return out, rows.Err()
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
