package reports

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/capstat/capstat/internal/catalog"
	"github.com/capstat/capstat/internal/duckdbx"
)

// WriteSnapshot writes DIR/capstat.duckdb for the release in dir, whose
// Parquet files are already under dir/data/<dataset>/: one view
// main.<dataset> per catalogue dataset over its Parquet files, named by
// paths relative to the release directory (so the snapshot moves with the
// release: DuckDB resolves them against the working directory or
// file_search_path), the view release_info, and the catalogue descriptions
// as comments. The snapshot holds no data of its own.
func WriteSnapshot(ctx context.Context, dir string, cat *catalog.Catalog, id string, created time.Time, prevID string) (err error) {
	path := filepath.Join(dir, snapshotFile)
	db, err := duckdbx.Open(ctx, path)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer func() {
		if cErr := db.Close(); cErr != nil && err == nil {
			err = fmt.Errorf("close snapshot: %w", cErr)
		}
	}()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer conn.Close()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	prev := "NULL"
	if prevID != "" {
		prev = lit(prevID)
	}
	stmts := []string{
		duckdbx.SearchPathSQL(abs),
		fmt.Sprintf("CREATE VIEW main.release_info AS SELECT %s AS release_id, %s::TIMESTAMPTZ AS created_at, %s::VARCHAR AS previous_release_id",
			lit(id), lit(created.UTC().Format(time.RFC3339)), prev),
	}
	for i := range cat.Datasets {
		d := &cat.Datasets[i]
		view, err := datasetView(abs, d)
		if err != nil {
			return err
		}
		name := "main." + ident(d.Name)
		stmts = append(stmts, view, fmt.Sprintf("COMMENT ON VIEW %s IS %s", name, lit(d.Description+" / "+d.DescriptionFR)))
		for _, c := range d.Columns {
			stmts = append(stmts, fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", name, ident(c.Name), lit(c.Description+" / "+c.DescriptionFR)))
		}
	}
	// One transaction for every statement (a commit each is slower), then
	// a checkpoint so that the file is complete without a WAL.
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			return fmt.Errorf("snapshot: %s: %w", firstWords(s), err)
		}
	}
	for _, s := range []string{"COMMIT", "CHECKPOINT"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("snapshot: %s: %w", s, err)
		}
	}
	return nil
}

// datasetView returns the CREATE VIEW of dataset d over the Parquet files
// under dir/data/<dataset>/, listed one by one (relative paths, sorted):
// the query engine allows reading exactly those files.
func datasetView(dir string, d *catalog.Dataset) (string, error) {
	var files []string
	hive := false
	root := filepath.Join(dir, "data", d.Name)
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() && strings.HasSuffix(p, ".parquet") {
			r := rel(dir, p)
			files = append(files, lit(r))
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
		cols[i] = ident(c.Name)
		if hive && c.Name == "source" {
			cols[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", ident(c.Name), c.Type, ident(c.Name))
		}
	}
	opts := "hive_partitioning = false"
	if hive {
		opts = "hive_partitioning = true, hive_types_autocast = false"
	}
	return fmt.Sprintf("CREATE VIEW main.%s AS SELECT %s FROM read_parquet([%s], %s)",
		ident(d.Name), strings.Join(cols, ", "), strings.Join(files, ", "), opts), nil
}

func firstWords(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
