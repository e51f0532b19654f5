package reports

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/capstat/capstat/internal/duckdbx"
)

// hashFile returns the size and hex SHA-256 of path, after syncing it to
// disk so that a renamed release survives a power cut.
func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("hash %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, "", fmt.Errorf("sync %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// hashEntries fills Bytes and SHA256 of entries (paths relative to dir) on
// a few goroutines.
func hashEntries(dir string, entries []FileEntry) error {
	workers := min(runtime.NumCPU(), 4)
	jobs := make(chan int)
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				n, sum, err := hashFile(filepath.Join(dir, filepath.FromSlash(entries[i].Path)))
				entries[i].Bytes, entries[i].SHA256, errs[i] = n, sum, err
			}
		}()
	}
	for i := range entries {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return errors.Join(errs...)
}

// verifyRelease re-reads the release in dir from disk and checks it against
// the manifest: the file set, every size and SHA-256, the Parquet row
// counts (footers) against the dataset counts, and the snapshot, opened
// read-only with external access disabled, row by dataset.
func verifyRelease(ctx context.Context, conn *sql.Conn, dir string, want *Manifest) error {
	var m Manifest
	if err := readJSON(filepath.Join(dir, manifestFile), &m); err != nil {
		return err
	}
	if m.ReleaseID != want.ReleaseID || len(m.Files) != len(want.Files) {
		return fmt.Errorf("manifest.json on disk differs from the release written")
	}
	listed := map[string]bool{manifestFile: true}
	for _, f := range m.Files {
		listed[f.Path] = true
	}
	var extra []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && !listed[rel(dir, p)] {
			extra = append(extra, rel(dir, p))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list release files: %w", err)
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("files not in the manifest: %v", extra)
	}
	check := make([]FileEntry, len(m.Files))
	copy(check, m.Files)
	if err := hashEntries(dir, check); err != nil {
		return err
	}
	parquetByDataset := map[string][]string{}
	for i, f := range m.Files {
		if check[i].Bytes != f.Bytes || check[i].SHA256 != f.SHA256 {
			return fmt.Errorf("%s: checksum mismatch (manifest %s, %d bytes; disk %s, %d bytes)", f.Path, f.SHA256, f.Bytes, check[i].SHA256, check[i].Bytes)
		}
		if f.Format == "parquet" {
			parquetByDataset[f.Dataset] = append(parquetByDataset[f.Dataset], f.Path)
		}
	}
	for ds, want := range m.Datasets {
		var files []string
		for _, p := range parquetByDataset[ds] {
			files = append(files, filepath.Join(dir, filepath.FromSlash(p)))
		}
		counts, err := parquetRows(ctx, conn, files)
		if err != nil {
			return fmt.Errorf("dataset %s: %w", ds, err)
		}
		var total int64
		for _, n := range counts {
			total += n
		}
		if len(files) == 0 || total != want {
			return fmt.Errorf("dataset %s: %d Parquet rows in %d files, want %d", ds, total, len(files), want)
		}
	}
	return verifySnapshot(ctx, filepath.Join(dir, snapshotFile), &m)
}

func verifySnapshot(ctx context.Context, path string, m *Manifest) (err error) {
	db, err := duckdbx.OpenReadOnly(ctx, path)
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
	if _, err := conn.ExecContext(ctx, "SET enable_external_access = false"); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	var id string
	if err := conn.QueryRowContext(ctx, "SELECT release_id FROM release_info").Scan(&id); err != nil {
		return fmt.Errorf("snapshot release_info: %w", err)
	}
	if id != m.ReleaseID {
		return fmt.Errorf("snapshot release_info says %q, want %q", id, m.ReleaseID)
	}
	for ds, want := range m.Datasets {
		var n int64
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM main."+ident(ds)).Scan(&n); err != nil {
			return fmt.Errorf("snapshot view %s: %w", ds, err)
		}
		if n != want {
			return fmt.Errorf("snapshot view %s: %d rows, want %d", ds, n, want)
		}
	}
	return nil
}
