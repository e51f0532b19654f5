package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
)

// WriteSnapshot writes DIR/capstat.duckdb for the release in dir, whose
// Parquet files are already under dir/data/<dataset>/: one view
// main.<dataset> per catalogue dataset over its Parquet files, named by
// paths relative to the release directory (so the snapshot moves with the
// release: DuckDB resolves them against the working directory or
// file_search_path), the view release_info, and the catalogue descriptions
// as comments. The snapshot holds no data of its own.
func WriteSnapshot(ctx context.Context, dir string, cat *datasets.Contract, id string, created time.Time, prevID string) error {
	w, err := newSnapshotWriter(ctx, dir)
	if err != nil {
		return err
	}
	for i := range cat.Datasets {
		if err := w.add(ctx, &cat.Datasets[i]); err != nil {
			w.abort()
			return err
		}
	}
	return w.finish(ctx, id, created, prevID)
}

// snapshotWriter builds the snapshot while the datasets are being written:
// add creates a dataset's view as soon as its Parquet files exist; finish
// adds release_info and commits. All statements run in one transaction.
type snapshotWriter struct {
	mu   sync.Mutex
	dir  string
	db   *sql.DB
	conn *sql.Conn
}

func newSnapshotWriter(ctx context.Context, dir string) (_ *snapshotWriter, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	w := &snapshotWriter{dir: abs}
	w.db, err = duckdbx.Open(ctx, filepath.Join(abs, release.SnapshotFile))
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if w.conn, err = w.db.Conn(ctx); err == nil {
		err = w.exec(ctx, duckdbx.SearchPathSQL(abs), "BEGIN TRANSACTION")
	}
	if err != nil {
		w.abort()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return w, nil
}

func (w *snapshotWriter) exec(ctx context.Context, stmts ...string) error {
	if err := duckdbx.Exec(ctx, w.conn, stmts...); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// add creates the view of dataset d (and its comments).
func (w *snapshotWriter) add(ctx context.Context, d *datasets.Dataset) error {
	view, err := datasetView(w.dir, d)
	if err != nil {
		return err
	}
	name := "main." + duckdbx.Ident(d.Name)
	stmts := []string{view, fmt.Sprintf("COMMENT ON VIEW %s IS %s", name, duckdbx.Quote(d.Description+" / "+d.DescriptionFR))}
	for _, c := range d.Columns {
		stmts = append(stmts, fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", name, duckdbx.Ident(c.Name), duckdbx.Quote(c.Description+" / "+c.DescriptionFR)))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.exec(ctx, stmts...)
}

// finish adds release_info, commits, checkpoints (no WAL left) and closes.
func (w *snapshotWriter) finish(ctx context.Context, id string, created time.Time, prevID string) (err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer func() {
		if cErr := errors.Join(w.conn.Close(), w.db.Close()); cErr != nil && err == nil {
			err = fmt.Errorf("close snapshot: %w", cErr)
		}
	}()
	prev := "NULL"
	if prevID != "" {
		prev = duckdbx.Quote(prevID)
	}
	return w.exec(ctx,
		fmt.Sprintf("CREATE VIEW main.release_info AS SELECT %s AS release_id, %s::TIMESTAMPTZ AS created_at, %s::VARCHAR AS previous_release_id",
			duckdbx.Quote(id), duckdbx.Quote(created.UTC().Format(time.RFC3339)), prev),
		"COMMIT", "CHECKPOINT")
}

// abort drops the snapshot being written (its file goes with the release
// directory).
func (w *snapshotWriter) abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil {
		_, _ = w.conn.ExecContext(context.Background(), "ROLLBACK")
		w.conn.Close()
	}
	w.db.Close()
}

// datasetView returns the CREATE VIEW of dataset d over the Parquet files
// under dir/data/<dataset>/, listed one by one (relative paths, sorted):
// the query engine allows reading exactly those files.
func datasetView(dir string, d *datasets.Dataset) (string, error) {
	var files []string
	hive := false
	root := filepath.Join(dir, "data", d.Name)
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() && strings.HasSuffix(p, ".parquet") {
			r := rel(dir, p)
			files = append(files, duckdbx.Quote(r))
			hive = hive || strings.Contains(r, "/source=")
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("snapshot view %s: %w", d.Name, err)
	}
	if len(files) == 0 {
		return "", fmt.Errorf("snapshot view %s: no Parquet file under data/%s", d.Name, d.Name)
	}
	slices.Sort(files)
	cols := make([]string, len(d.Columns))
	for i, c := range d.Columns {
		cols[i] = duckdbx.Ident(c.Name)
		if hive && c.Name == "source" {
			cols[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", duckdbx.Ident(c.Name), c.Type, duckdbx.Ident(c.Name))
		}
	}
	opts := "hive_partitioning = false"
	if hive {
		opts = "hive_partitioning = true, hive_types_autocast = false"
	}
	return fmt.Sprintf("CREATE VIEW main.%s AS SELECT %s FROM read_parquet([%s], %s)",
		duckdbx.Ident(d.Name), strings.Join(cols, ", "), strings.Join(files, ", "), opts), nil
}
