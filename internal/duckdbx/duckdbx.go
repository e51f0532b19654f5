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

// OpenReadOnly opens an existing DuckDB file in read-only mode.
func OpenReadOnly(ctx context.Context, path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open duckdb %s read-only: %w", path, err)
	}
	return open(ctx, path, "access_mode=READ_ONLY")
}

func open(ctx context.Context, path, opts string) (*sql.DB, error) {
	dsn := path
	if opts != "" {
		dsn += "?" + opts
	}
	connector, err := duckdb.NewConnector(dsn, func(execer driver.ExecerContext) error {
		_, err := execer.ExecContext(ctx, "SET autoinstall_known_extensions=false; SET autoload_known_extensions=false", nil)
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
