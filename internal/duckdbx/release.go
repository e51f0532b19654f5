package duckdbx

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// ReleaseAccess is what a connection needs to read the views of a release
// snapshot (DIR/releases/<id>/capstat.duckdb): each view reads its dataset's
// Parquet files by paths relative to the release directory
// (data/<dataset>/…), which resolve through file_search_path.
type ReleaseAccess struct {
	// Dir is the release directory, absolute, symlinks resolved.
	Dir string
	// Files are the release's Parquet files (regular files under Dir/data,
	// symlinks excluded), each named twice: relative to Dir as the views
	// spell it, and absolute as DuckDB opens it.
	Files []string
}

// NewReleaseAccess lists what the snapshot at snapshotPath may read.
func NewReleaseAccess(snapshotPath string) (ReleaseAccess, error) {
	resolved, err := filepath.EvalSymlinks(snapshotPath)
	if err != nil {
		return ReleaseAccess{}, fmt.Errorf("release of snapshot %s: %w", snapshotPath, err)
	}
	resolved, err = filepath.Abs(resolved)
	if err != nil {
		return ReleaseAccess{}, fmt.Errorf("release of snapshot %s: %w", snapshotPath, err)
	}
	a := ReleaseAccess{Dir: filepath.Dir(resolved)}
	root := filepath.Join(a.Dir, "data")
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir // a snapshot without Parquet files (tables only)
			}
			return err
		}
		if e.Type().IsRegular() && strings.HasSuffix(p, ".parquet") {
			rel, err := filepath.Rel(a.Dir, p)
			if err != nil {
				return err
			}
			a.Files = append(a.Files, filepath.ToSlash(rel), p)
		}
		return nil
	})
	if err != nil {
		return ReleaseAccess{}, fmt.Errorf("release of snapshot %s: list Parquet files: %w", snapshotPath, err)
	}
	return a, nil
}

// SearchPathSQL returns the statement resolving the views' relative paths
// against the release directory.
func (a ReleaseAccess) SearchPathSQL() string { return SearchPathSQL(a.Dir) }

// ConfineSQL returns the statements that turn external access off except
// for reading the release's Parquet files (allowed_paths holds exactly those
// names: no directory, no glob, nothing writable that is not one of them).
// Run them after SearchPathSQL and every ATTACH, then lock the
// configuration.
func (a ReleaseAccess) ConfineSQL() []string {
	var stmts []string
	if len(a.Files) > 0 {
		q := make([]string, len(a.Files))
		for i, f := range a.Files {
			q[i] = Quote(f)
		}
		stmts = append(stmts, "SET allowed_paths = ["+strings.Join(q, ", ")+"]")
	}
	return append(stmts, "SET enable_external_access = false")
}
