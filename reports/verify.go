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
	"strings"
	"sync"

	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
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

// hashEntries fills Bytes and SHA256 of entries (paths relative to dir):
// the few metadata files written after the data (which the hasher did).
func hashEntries(dir string, entries []release.FileEntry) error {
	for i := range entries {
		n, sum, err := hashFile(filepath.Join(dir, filepath.FromSlash(entries[i].Path)))
		if err != nil {
			return err
		}
		entries[i].Bytes, entries[i].SHA256 = n, sum
	}
	return nil
}

// hasher hashes (and syncs) release files on a few goroutines while the
// rest of the release is being written.
type hasher struct {
	dir  string
	jobs chan string
	wg   sync.WaitGroup
	mu   sync.Mutex
	sums map[string]fileSum
	errs []error
	once sync.Once
}

type fileSum struct {
	bytes  int64
	sha256 string
}

func newHasher(ctx context.Context, dir string) *hasher {
	h := &hasher{dir: dir, jobs: make(chan string, 256), sums: map[string]fileSum{}}
	for range min(runtime.NumCPU(), 4) {
		h.wg.Go(func() {
			for p := range h.jobs {
				if ctx.Err() != nil {
					continue
				}
				n, sum, err := hashFile(filepath.Join(dir, filepath.FromSlash(p)))
				h.mu.Lock()
				h.sums[p] = fileSum{n, sum}
				if err != nil {
					h.errs = append(h.errs, err)
				}
				h.mu.Unlock()
			}
		})
	}
	return h
}

// add queues the file at path (relative to the release directory).
func (h *hasher) add(path string) { h.jobs <- path }

// wait returns the sums once every queued file is hashed.
func (h *hasher) wait() (map[string]fileSum, error) {
	h.stop()
	return h.sums, errors.Join(h.errs...)
}

func (h *hasher) stop() {
	h.once.Do(func() { close(h.jobs) })
	h.wg.Wait()
}

// verifyRelease re-reads the release in dir from disk and checks it against
// the manifest: the file set, every size (the SHA-256 sums were taken from
// these same files on disk once written, so they are not read again), the
// Parquet row counts (footers) against the dataset counts, and the
// snapshot, opened read-only the way the query engine opens it (external
// access off except reading the release's Parquet files), row count by
// dataset.
func verifyRelease(ctx context.Context, conn *sql.Conn, dir string, want *release.Manifest) error {
	var m release.Manifest
	if err := release.ReadJSON(filepath.Join(dir, release.ManifestFile), &m); err != nil {
		return err
	}
	if m.ReleaseID != want.ReleaseID || len(m.Files) != len(want.Files) {
		return fmt.Errorf("manifest.json on disk differs from the release written")
	}
	listed := map[string]release.FileEntry{}
	for _, f := range m.Files {
		if f.SHA256 == "" {
			return fmt.Errorf("%s: no checksum", f.Path)
		}
		listed[f.Path] = f
	}
	var extra []string
	seen := 0
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		r := rel(dir, p)
		if r == release.ManifestFile {
			return nil
		}
		f, ok := listed[r]
		if !ok {
			extra = append(extra, r)
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if info.Size() != f.Bytes {
			return fmt.Errorf("%s: size mismatch (manifest %d bytes, disk %d bytes)", r, f.Bytes, info.Size())
		}
		seen++
		return nil
	})
	if err != nil {
		return fmt.Errorf("check release files: %w", err)
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("files not in the manifest: %v", extra)
	}
	if seen != len(m.Files) {
		return fmt.Errorf("%d files of the manifest are missing", len(m.Files)-seen)
	}
	return verifyData(ctx, conn, dir, &m)
}

// verifyData checks the Parquet footers and the snapshot against m.
func verifyData(ctx context.Context, conn *sql.Conn, dir string, m *release.Manifest) error {
	var parquet []string
	datasetOf := map[string]string{}
	for _, f := range m.Files {
		if f.Format == "parquet" {
			p := filepath.Join(dir, filepath.FromSlash(f.Path))
			parquet = append(parquet, p)
			datasetOf[p] = f.Dataset
		}
	}
	counts, err := parquetRows(ctx, conn, parquet)
	if err != nil {
		return err
	}
	got := map[string]int64{}
	files := map[string]int{}
	for p, n := range counts {
		got[datasetOf[p]] += n
		files[datasetOf[p]]++
	}
	for ds, n := range m.Datasets {
		if files[ds] == 0 || got[ds] != n {
			return fmt.Errorf("dataset %s: %d Parquet rows in %d files, want %d", ds, got[ds], files[ds], n)
		}
	}
	return verifySnapshot(ctx, filepath.Join(dir, release.SnapshotFile), m)
}

// parquetRows reads the row counts of Parquet files from their footers.
func parquetRows(ctx context.Context, conn *sql.Conn, files []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(files) == 0 {
		return out, nil
	}
	lits := make([]string, len(files))
	for i, f := range files {
		lits[i] = duckdbx.Quote(f)
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

func verifySnapshot(ctx context.Context, path string, m *release.Manifest) (err error) {
	access, err := duckdbx.NewReleaseAccess(path)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
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
	if err := duckdbx.Exec(ctx, conn, access.ConfineSQL()...); err != nil {
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
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM main."+duckdbx.Ident(ds)).Scan(&n); err != nil {
			return fmt.Errorf("snapshot view %s: %w", ds, err)
		}
		if n != want {
			return fmt.Errorf("snapshot view %s: %d rows, want %d", ds, n, want)
		}
	}
	return nil
}
