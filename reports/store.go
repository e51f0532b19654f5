package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	releasesDirName = "releases"
	latestName      = "latest"
	tmpPrefix       = ".tmp-"
	idLayout        = "20060102T150405Z"
)

// newReleaseID returns the UTC timestamp id of a release made at t, with a
// suffix -2, -3… when that id is already taken in releasesDir.
func newReleaseID(t time.Time, releasesDir string) string {
	base := t.UTC().Format(idLayout)
	id := base
	for n := 2; ; n++ {
		_, err1 := os.Lstat(filepath.Join(releasesDir, id))
		_, err2 := os.Lstat(filepath.Join(releasesDir, tmpPrefix+id))
		if errors.Is(err1, os.ErrNotExist) && errors.Is(err2, os.ErrNotExist) {
			return id
		}
		id = base + "-" + strconv.Itoa(n)
	}
}

// parseReleaseID splits an id into its time and suffix for ordering.
func parseReleaseID(id string) (time.Time, int, bool) {
	base, suffix, hasSuffix := strings.Cut(id, "-")
	t, err := time.Parse(idLayout, base)
	if err != nil || t.Format(idLayout) != base {
		return time.Time{}, 0, false
	}
	n := 1
	if hasSuffix {
		n, err = strconv.Atoi(suffix)
		if err != nil || n < 2 || strconv.Itoa(n) != suffix {
			return time.Time{}, 0, false
		}
	}
	return t, n, true
}

// listReleases returns the release ids under releasesDir, oldest first.
func listReleases(releasesDir string) ([]string, error) {
	entries, err := os.ReadDir(releasesDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list releases: %w", err)
	}
	type rel struct {
		id string
		t  time.Time
		n  int
	}
	var rels []rel
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if t, n, ok := parseReleaseID(e.Name()); ok {
			rels = append(rels, rel{e.Name(), t, n})
		}
	}
	sort.Slice(rels, func(i, j int) bool {
		if !rels[i].t.Equal(rels[j].t) {
			return rels[i].t.Before(rels[j].t)
		}
		return rels[i].n < rels[j].n
	})
	ids := make([]string, len(rels))
	for i, r := range rels {
		ids[i] = r.id
	}
	return ids, nil
}

// currentID returns the id DIR/latest points to ("" when there is none).
func currentID(outDir string) (string, error) {
	target, err := os.Readlink(filepath.Join(outDir, latestName))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("read %s: %w", latestName, err)
	}
	id := filepath.Base(target)
	if _, _, ok := parseReleaseID(id); !ok {
		return "", fmt.Errorf("%s points to %q, not a release", latestName, target)
	}
	return id, nil
}

// switchLatest atomically points DIR/latest at releases/<id>: a temporary
// symlink is created then renamed over the old one.
func switchLatest(outDir, id string) error {
	tmp := filepath.Join(outDir, ".latest-"+id)
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Join(releasesDirName, id), tmp); err != nil {
		return fmt.Errorf("switch latest to %s: %w", id, err)
	}
	if err := os.Rename(tmp, filepath.Join(outDir, latestName)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("switch latest to %s: %w", id, err)
	}
	return syncDir(outDir)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// applyRetention deletes the oldest releases beyond keep, never current.
func applyRetention(releasesDir, current string, keep int) ([]string, error) {
	ids, err := listReleases(releasesDir)
	if err != nil {
		return nil, err
	}
	var deleted []string
	for i := 0; i < len(ids)-keep; i++ {
		if ids[i] == current {
			continue
		}
		if err := os.RemoveAll(filepath.Join(releasesDir, ids[i])); err != nil {
			return deleted, fmt.Errorf("retention: delete release %s: %w", ids[i], err)
		}
		deleted = append(deleted, ids[i])
	}
	return deleted, nil
}

// removeStaleTemps deletes half-written releases left by a crash.
func removeStaleTemps(releasesDir string) error {
	entries, err := os.ReadDir(releasesDir)
	if err != nil {
		return fmt.Errorf("clean temporary releases: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.RemoveAll(filepath.Join(releasesDir, e.Name())); err != nil {
				return fmt.Errorf("clean temporary release %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// ErrNoRelease is the error of Current when nothing has been published in
// the directory yet (no DIR/latest). Test it with errors.Is.
var ErrNoRelease = errors.New("no release published yet")

// Current returns the release DIR/latest points to, read from its
// manifest.json and changes.json. Its error wraps ErrNoRelease when nothing
// has been published yet; it never returns a nil release without an error.
func Current(outDir string) (*Release, error) {
	id, err := currentID(outDir)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, fmt.Errorf("%s: %w", outDir, ErrNoRelease)
	}
	return openRelease(filepath.Join(outDir, releasesDirName, id))
}

// openRelease loads the release in dir.
func openRelease(dir string) (*Release, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open release %s: %w", dir, err)
	}
	r := &Release{ID: filepath.Base(abs), Dir: abs}
	if err := readJSON(filepath.Join(abs, manifestFile), &r.Manifest); err != nil {
		return nil, fmt.Errorf("open release %s: %w", r.ID, err)
	}
	if err := readJSON(filepath.Join(abs, changesFile), &r.Changes); err != nil {
		return nil, fmt.Errorf("open release %s: %w", r.ID, err)
	}
	r.CreatedAt = r.Manifest.CreatedAt
	return r, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
