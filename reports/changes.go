package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/capstat/capstat/internal/catalog"
)

// computeChanges compares each dataset of the snapshot being written with
// the previous release: rows are matched on the primary key and compared on
// a hash of the columns both releases have. The previous release is read
// from its snapshot, or from its Parquet files when the snapshot is absent.
func computeChanges(ctx context.Context, conn *sql.Conn, al aliases, cat *catalog.Catalog, id string, prev *Release, rows map[string]int64) (*Changes, error) {
	ch := &Changes{ReleaseID: id, Datasets: map[string]DatasetChanges{}}
	if prev == nil {
		for _, d := range cat.Datasets {
			ch.Datasets[d.Name] = DatasetChanges{Added: rows[d.Name]}
		}
		return ch, nil
	}
	ch.PreviousReleaseID = prev.ID
	snap := filepath.Join(prev.Dir, snapshotFile)
	haveSnap := false
	if _, err := os.Stat(snap); err == nil {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("ATTACH %s AS %s (READ_ONLY)", lit(snap), al.prev)); err != nil {
			return nil, fmt.Errorf("changes: open previous snapshot: %w", err)
		}
		haveSnap = true
		defer conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE IF EXISTS "+al.prev) //nolint:errcheck
	}
	for i := range cat.Datasets {
		d := &cat.Datasets[i]
		src, err := previousRelation(ctx, conn, al.prev, d.Name, prev.Dir, haveSnap)
		if err != nil {
			return nil, fmt.Errorf("changes of %s: %w", d.Name, err)
		}
		if src == "" {
			ch.Datasets[d.Name] = DatasetChanges{Added: rows[d.Name]}
			continue
		}
		dc, err := diffDataset(ctx, conn, al.cur+".data."+ident(d.Name), d, src)
		if err != nil {
			return nil, fmt.Errorf("changes of %s: %w", d.Name, err)
		}
		ch.Datasets[d.Name] = dc
	}
	for name, n := range prev.Manifest.Datasets {
		if _, ok := cat.Dataset(name); !ok {
			ch.Datasets[name] = DatasetChanges{Removed: n}
		}
	}
	return ch, nil
}

// previousRelation returns a SQL relation reading dataset name from the
// previous release, or "" when that release does not have it.
func previousRelation(ctx context.Context, conn *sql.Conn, prevAlias, name, prevDir string, haveSnap bool) (string, error) {
	if haveSnap {
		var n int
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables()
			WHERE database_name = ? AND schema_name = 'data' AND table_name = ?`, prevAlias, name).Scan(&n); err != nil {
			return "", err
		}
		if n > 0 {
			return prevAlias + ".data." + ident(name), nil
		}
		return "", nil
	}
	dir := filepath.Join(prevDir, "data", name)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return fmt.Sprintf("read_parquet(%s, hive_partitioning = true, hive_types_autocast = false, union_by_name = true)",
		lit(filepath.Join(dir, "**", "*.parquet"))), nil
}

func diffDataset(ctx context.Context, conn *sql.Conn, curRel string, d *catalog.Dataset, prevRel string) (DatasetChanges, error) {
	prevCols, err := relationColumns(ctx, conn, prevRel)
	if err != nil {
		return DatasetChanges{}, err
	}
	key := d.PrimaryKey
	var hashed []string
	for _, c := range d.Columns {
		if prevCols[c.Name] {
			hashed = append(hashed, fmt.Sprintf("CAST(%s AS %s)", ident(c.Name), c.Type))
		}
	}
	if len(key) == 0 {
		for _, c := range d.Columns {
			key = append(key, c.Name)
		}
	}
	for _, k := range key {
		if !prevCols[k] {
			return DatasetChanges{}, fmt.Errorf("previous release lacks key column %s", k)
		}
	}
	// Rows are matched on a hash of the key (one integer join instead of
	// several string columns); a collision among millions of 64-bit hashes
	// is negligible for change counts.
	var keyExprs []string
	for _, k := range key {
		col, _ := d.Column(k)
		keyExprs = append(keyExprs, fmt.Sprintf("CAST(%s AS %s)", ident(k), col.Type))
	}
	h := "0"
	if len(hashed) > 0 {
		h = "hash(" + strings.Join(hashed, ", ") + ")"
	}
	side := func(rel string) string {
		return fmt.Sprintf("SELECT hash(%s) AS k, %s AS h, true AS m FROM %s", strings.Join(keyExprs, ", "), h, rel)
	}
	q := fmt.Sprintf(`SELECT
		count(*) FILTER (WHERE p.m IS NULL),
		count(*) FILTER (WHERE c.m AND p.m AND c.h <> p.h),
		count(*) FILTER (WHERE c.m IS NULL)
		FROM (%s) c FULL OUTER JOIN (%s) p ON c.k = p.k`,
		side(curRel), side(prevRel))
	var dc DatasetChanges
	if err := conn.QueryRowContext(ctx, q).Scan(&dc.Added, &dc.Updated, &dc.Removed); err != nil {
		return dc, err
	}
	return dc, nil
}

func relationColumns(ctx context.Context, conn *sql.Conn, rel string) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, "SELECT column_name FROM (DESCRIBE SELECT * FROM "+rel+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out[name] = true
	}
	return out, rows.Err()
}
