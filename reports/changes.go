package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
)

// datasetChanges compares dataset d (the projection cur, n rows, with
// fingerprint fp) with the previous release. The comparison is set-based:
// when the previous manifest has the same fingerprint the row sets are
// equal and nothing is read; otherwise rows are matched on the primary key
// and compared on a hash of the columns both releases have, the previous
// rows being read from its Parquet files.
func datasetChanges(ctx context.Context, conn *sql.Conn, d *datasets.Dataset, cur string, n int64, fp string, prev *release.Release) (release.DatasetChanges, error) {
	if prev == nil {
		return release.DatasetChanges{Added: n}, nil
	}
	if _, ok := prev.Manifest.Datasets[d.Name]; ok && fp != "" && prev.Manifest.Fingerprints[d.Name] == fp {
		return release.DatasetChanges{}, nil
	}
	src, err := previousRelation(d.Name, prev.Dir)
	if err != nil {
		return release.DatasetChanges{}, err
	}
	if src == "" {
		return release.DatasetChanges{Added: n}, nil
	}
	return diffDataset(ctx, conn, cur, d, src)
}

// previousRelation returns a SQL relation reading dataset name from the
// previous release's Parquet files, or "" when that release does not have
// it.
func previousRelation(name, prevDir string) (string, error) {
	dir := filepath.Join(prevDir, "data", name)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return fmt.Sprintf("read_parquet(%s, hive_partitioning = true, hive_types_autocast = false, union_by_name = true)",
		duckdbx.Quote(filepath.Join(dir, "**", "*.parquet"))), nil
}

func diffDataset(ctx context.Context, conn *sql.Conn, curRel string, d *datasets.Dataset, prevRel string) (release.DatasetChanges, error) {
	prevCols, err := relationColumns(ctx, conn, prevRel)
	if err != nil {
		return release.DatasetChanges{}, err
	}
	key := d.PrimaryKey
	var hashed []string
	for _, c := range d.Columns {
		if prevCols[c.Name] {
			hashed = append(hashed, fmt.Sprintf("CAST(%s AS %s)", duckdbx.Ident(c.Name), c.Type))
		}
	}
	if len(key) == 0 {
		for _, c := range d.Columns {
			key = append(key, c.Name)
		}
	}
	for _, k := range key {
		if !prevCols[k] {
			return release.DatasetChanges{}, fmt.Errorf("previous release lacks key column %s", k)
		}
	}
	// Rows are matched on a hash of the key (one integer join instead of
	// several string columns); a collision among millions of 64-bit hashes
	// is negligible for change counts.
	var keyExprs []string
	for _, k := range key {
		col, _ := d.Column(k)
		keyExprs = append(keyExprs, fmt.Sprintf("CAST(%s AS %s)", duckdbx.Ident(k), col.Type))
	}
	h := "0"
	if len(hashed) > 0 {
		h = "hash(" + strings.Join(hashed, ", ") + ")"
	}
	side := func(rel string) string {
		return fmt.Sprintf("SELECT hash(%s) AS k, %s AS h, true AS m FROM %s AS r", strings.Join(keyExprs, ", "), h, rel)
	}
	q := fmt.Sprintf(`SELECT
		count(*) FILTER (WHERE p.m IS NULL),
		count(*) FILTER (WHERE c.m AND p.m AND c.h <> p.h),
		count(*) FILTER (WHERE c.m IS NULL)
		FROM (%s) c FULL OUTER JOIN (%s) p ON c.k = p.k`,
		side(curRel), side(prevRel))
	var dc release.DatasetChanges
	if err := conn.QueryRowContext(ctx, q).Scan(&dc.Added, &dc.Updated, &dc.Removed); err != nil {
		return dc, err
	}
	if dc.Removed > 0 && len(d.PrimaryKey) > 0 {
		rk, err := removedKeys(ctx, conn, d.PrimaryKey, keyExprs, curRel, prevRel)
		if err != nil {
			return dc, fmt.Errorf("removed keys: %w", err)
		}
		dc.RemovedKeys = rk
	}
	return dc, nil
}

// removedKeys lists the keys (columns key, typed by keyExprs) of the rows
// of prevRel that curRel no longer has, at most release.MaxRemovedKeys.
func removedKeys(ctx context.Context, conn *sql.Conn, key, keyExprs []string, curRel, prevRel string) (*release.RemovedKeys, error) {
	h := "hash(" + strings.Join(keyExprs, ", ") + ")"
	q := fmt.Sprintf(`SELECT %s FROM %s AS r WHERE %s NOT IN (SELECT %s FROM %s AS r) ORDER BY ALL LIMIT %d`,
		strings.Join(keyExprs, ", "), prevRel, h, h, curRel, release.MaxRemovedKeys+1)
	rs, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := &release.RemovedKeys{Columns: key, Keys: [][]any{}}
	for rs.Next() {
		vals := make([]any, len(key))
		ptrs := make([]any, len(key))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		if len(out.Keys) == release.MaxRemovedKeys {
			out.Truncated = true
			break
		}
		out.Keys = append(out.Keys, vals)
	}
	return out, rs.Err()
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
