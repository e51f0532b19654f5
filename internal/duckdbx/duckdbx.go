// Package duckdbx opens DuckDB databases with capstat's safe defaults: no
// extension is installed or auto-loaded (the machines have no internet, and
// the extensions capstat uses — parquet, json, icu — are linked in).
package duckdbx

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// Open opens (creating if needed) the DuckDB file at path for writing.
// An empty path opens an in-memory database.
func Open(ctx context.Context, path string) (*sql.DB, error) {
	if path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("open duckdb %s: %w", path, err)
		}
	}
	return open(ctx, path, "")
}

// OpenReadOnly opens an existing DuckDB file in read-only mode. Relative
// file paths in its views (a release snapshot's views read the release's
// Parquet files as data/<dataset>/…) resolve against the file's directory,
// so a snapshot works wherever its release directory is.
func OpenReadOnly(ctx context.Context, path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open duckdb %s read-only: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open duckdb %s read-only: %w", path, err)
	}
	return open(ctx, path, "access_mode=READ_ONLY", SearchPathSQL(filepath.Dir(abs)))
}

func open(ctx context.Context, path, opts string, init ...string) (*sql.DB, error) {
	tuneMalloc()
	dsn := path
	if opts != "" {
		dsn += "?" + opts
	}
	stmts := append([]string{"SET autoinstall_known_extensions=false", "SET autoload_known_extensions=false"}, init...)
	connector, err := duckdb.NewConnector(dsn, func(execer driver.ExecerContext) error {
		_, err := execer.ExecContext(ctx, strings.Join(stmts, "; "), nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open duckdb %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open duckdb %s: %w", path, err)
	}
	return db, nil
}

// SearchPathSQL returns the statement that makes relative file paths
// resolve against dir (DuckDB's file_search_path) on a connection.
func SearchPathSQL(dir string) string {
	return "SET file_search_path = " + Quote(dir)
}

// Quote returns s as a SQL string literal.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Ident returns s as a quoted SQL identifier.
func Ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ScanAny scans the current row of rs, which has ncol columns, into
// untyped values (for result shapes known only at run time).
func ScanAny(rs *sql.Rows, ncol int) ([]any, error) {
	vals := make([]any, ncol)
	ptrs := make([]any, ncol)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rs.Scan(ptrs...); err != nil {
		return nil, err
	}
	return vals, nil
}

// Execer runs statements: a *sql.DB, *sql.Conn or *sql.Tx.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Exec runs stmts on c in order and stops at the first error, which names
// the statement (its first 80 bytes).
func Exec(ctx context.Context, c Execer, stmts ...string) error {
	for _, st := range stmts {
		if _, err := c.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("%.80s: %w", st, err)
		}
	}
	return nil
}

// Set applies settings (name, value) on c and returns the function that
// gives back the previous values. Global settings (memory_limit…) change
// for the whole database: c is then best the *sql.DB or a connection the
// caller holds. Values are restored with SET (RESET does not resize DuckDB
// 1.5's buffer pool); sizes read back are rounded to 0.1 of their unit,
// which restores them to within 0.3 %.
func Set(ctx context.Context, c Execer, settings [][2]string) (restore func(), err error) {
	set := func(name, v string) error {
		_, err := c.ExecContext(context.WithoutCancel(ctx), "SET "+name+" = "+Quote(v))
		return err
	}
	var undo [][2]string
	restore = func() {
		for _, kv := range undo {
			_ = set(kv[0], kv[1])
		}
	}
	for _, kv := range settings {
		var old string
		if err := c.QueryRowContext(ctx, "SELECT current_setting(?)::VARCHAR", kv[0]).Scan(&old); err != nil {
			restore()
			return nil, fmt.Errorf("read setting %s: %w", kv[0], err)
		}
		undo = append(undo, [2]string{kv[0], old})
		if err := set(kv[0], kv[1]); err != nil {
			restore()
			return nil, fmt.Errorf("%s %q: %w", kv[0], kv[1], err)
		}
	}
	return restore, nil
}

// IsLocked reports whether err is DuckDB refusing to open a database file
// that another process holds ("Could not set lock on file … Conflicting
// lock is held in … (PID n)").
func IsLocked(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "Could not set lock on file") || strings.Contains(err.Error(), "Conflicting lock"))
}
