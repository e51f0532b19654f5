package reports

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
)

// Writing one dataset: its checks (columns, key, privacy projection), its
// change counts against the previous release, its Parquet and CSV files.

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
func writeDataset(ctx context.Context, conn *sql.Conn, o Options, d *datasets.Dataset, dir, id string, partition bool, prev *release.Release, checked keyCheck) (out *datasetOutput, err error) {
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
		out.files = append(out.files, release.FileEntry{Path: path, Rows: &rows, Dataset: d.Name, Format: "csv"})
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
// in the transaction that built it (datasets.KeyChecksTable) and the
// projection still has the row count and key sum they saw, one scan of the
// key columns is enough: the exact key check is skipped and the
// fingerprint hashes transform's content sum of the table together with
// the projection's SQL (proj: casts and privacy policy, so the same table
// under another policy gets another fingerprint). Otherwise (the
// table changed since, rows were suppressed, an older working database) a
// scan of every column counts the rows and NULL keys, sums a hash of the
// keys and a hash of every row (equal for the same rows in any order), and
// the exact key check runs when that cannot rule duplicates out.
func checkDataset(ctx context.Context, conn *sql.Conn, d *datasets.Dataset, src, proj string, checked keyCheck) (int64, string, error) {
	sig := sha256.New()
	for _, c := range d.Columns {
		fmt.Fprintf(sig, "%s %s\n", c.Name, c.Type)
	}
	if len(d.PrimaryKey) > 0 && checked.found && checked.contentSum != "" {
		var n, nullKeys int64
		var keys string
		if err := conn.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*), %s, count(*) FILTER (WHERE %s) FROM %s AS p",
			datasets.HashSumSQL(d.PrimaryKey), nullsOf(d.PrimaryKey), src)).Scan(&n, &keys, &nullKeys); err != nil {
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
			keyCount = datasets.HashSumSQL(d.PrimaryKey)
		}
		nullCount = fmt.Sprintf("count(*) FILTER (WHERE %s)", nullsOf(d.PrimaryKey))
	}
	var n, nullKeys int64
	var keys, sum string
	if err := conn.QueryRowContext(ctx, fmt.Sprintf(
		"SELECT count(*), %s, %s, %s FROM %s AS p",
		keyCount, nullCount, datasets.HashSumSQL(d.ColumnNames()), src)).Scan(&n, &keys, &nullKeys, &sum); err != nil {
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
	schema, name, _ := strings.Cut(datasets.KeyChecksTable, ".")
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
	rows, err := conn.QueryContext(ctx, `SELECT table_name, row_count, key_sum, `+content+` FROM `+datasets.KeyChecksTable)
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
