// Package release is the format of a capstat publication directory, in one
// place: the layout (DIR/releases/<id>/, the DIR/latest symlink switched
// atomically, the temporary folders of a release being written), release
// ids, the metadata files (manifest.json, changes.json, datapackage.json)
// and their types, Current with an explicit "none yet", and retention.
// reports writes releases through it; the daemon, the dashboards, the query
// engine and the commands read them through it.
//
//	DIR/latest -> releases/<id>
//	DIR/releases/<id>/manifest.json, changes.json, datapackage.json,
//	                  README.md, capstat.duckdb, data/<dataset>/…, csv/…
//	DIR/site/                    the dashboards
package release

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

// Names of the layout.
const (
	ReleasesDir     = "releases"      // DIR/releases/<id>
	Latest          = "latest"        // DIR/latest, symlink to releases/<id>
	TmpPrefix       = ".tmp-"         // releases/.tmp-<id> while it is written
	ManifestFile    = "manifest.json" // every file with size, rows, SHA-256
	ChangesFile     = "changes.json"  // rows added, updated, removed per dataset
	DatapackageFile = "datapackage.json"
	ReadmeFile      = "README.md"
	SnapshotFile    = "capstat.duckdb" // views over the release's Parquet files
	SiteDir         = "site"           // DIR/site, the dashboards

	idLayout = "20060102T150405Z"
)

// LatestDir is DIR/latest.
func LatestDir(outDir string) string { return filepath.Join(outDir, Latest) }

// LatestSnapshot is the snapshot of the current release,
// DIR/latest/capstat.duckdb.
func LatestSnapshot(outDir string) string { return filepath.Join(outDir, Latest, SnapshotFile) }

// ValidID reports whether id is a release id (a UTC timestamp such as
// 20261129T171502Z, maybe with a -2, -3… suffix).
func ValidID(id string) bool { _, _, ok := ParseID(id); return ok }

// Release is one published release, as read from its folder.
type Release struct {
	ID        string
	Dir       string // absolute path of DIR/releases/<id>
	CreatedAt time.Time
	Manifest  Manifest
	Changes   Changes
}

// NewID returns the UTC timestamp id of a release made at t, with a
// suffix -2, -3… when that id is already taken in releasesDir.
func NewID(t time.Time, releasesDir string) string {
	base := t.UTC().Format(idLayout)
	id := base
	for n := 2; ; n++ {
		_, err1 := os.Lstat(filepath.Join(releasesDir, id))
		_, err2 := os.Lstat(filepath.Join(releasesDir, TmpPrefix+id))
		if errors.Is(err1, os.ErrNotExist) && errors.Is(err2, os.ErrNotExist) {
			return id
		}
		id = base + "-" + strconv.Itoa(n)
	}
}

// ParseID splits an id into its time and suffix for ordering.
func ParseID(id string) (time.Time, int, bool) {
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

// List returns the release ids under releasesDir, oldest first.
func List(releasesDir string) ([]string, error) {
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
		if t, n, ok := ParseID(e.Name()); ok {
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

// CurrentID returns the id DIR/latest points to ("" when there is none).
func CurrentID(outDir string) (string, error) {
	target, err := os.Readlink(filepath.Join(outDir, Latest))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("read %s: %w", Latest, err)
	}
	id := filepath.Base(target)
	if _, _, ok := ParseID(id); !ok {
		return "", fmt.Errorf("%s points to %q, not a release", Latest, target)
	}
	return id, nil
}

// SwitchLatest atomically points DIR/latest at releases/<id>: a temporary
// symlink is created then renamed over the old one.
func SwitchLatest(outDir, id string) error {
	tmp := filepath.Join(outDir, ".latest-"+id)
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Join(ReleasesDir, id), tmp); err != nil {
		return fmt.Errorf("switch latest to %s: %w", id, err)
	}
	if err := os.Rename(tmp, filepath.Join(outDir, Latest)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("switch latest to %s: %w", id, err)
	}
	return SyncDir(outDir)
}

// SyncDir flushes dir's entries to disk (after a rename in it).
func SyncDir(dir string) error {
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

// ApplyRetention deletes the oldest releases beyond keep, never current.
func ApplyRetention(releasesDir, current string, keep int) ([]string, error) {
	ids, err := List(releasesDir)
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

// RemoveStaleTemps deletes half-written releases left by a crash.
func RemoveStaleTemps(releasesDir string) error {
	entries, err := os.ReadDir(releasesDir)
	if err != nil {
		return fmt.Errorf("clean temporary releases: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TmpPrefix) {
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
	id, err := CurrentID(outDir)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, fmt.Errorf("%s: %w", outDir, ErrNoRelease)
	}
	return Open(filepath.Join(outDir, ReleasesDir, id))
}

// Open loads the release in dir.
func Open(dir string) (*Release, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open release %s: %w", dir, err)
	}
	r := &Release{ID: filepath.Base(abs), Dir: abs}
	if err := ReadJSON(filepath.Join(abs, ManifestFile), &r.Manifest); err != nil {
		return nil, fmt.Errorf("open release %s: %w", r.ID, err)
	}
	if err := ReadJSON(filepath.Join(abs, ChangesFile), &r.Changes); err != nil {
		return nil, fmt.Errorf("open release %s: %w", r.ID, err)
	}
	r.CreatedAt = r.Manifest.CreatedAt
	return r, nil
}

// ReadJSON decodes the JSON file at path into v.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	return nil
}

// WriteJSON writes v as indented JSON to path.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// Manifest is manifest.json: every file of the release with its size, row
// count (data files only), SHA-256, dataset and format.
type Manifest struct {
	ReleaseID         string           `json:"release_id"`
	CreatedAt         time.Time        `json:"created_at"`
	PreviousReleaseID string           `json:"previous_release_id"` // "" for the first release
	Licence           string           `json:"licence"`
	Datasets          map[string]int64 `json:"datasets"` // rows per dataset
	// CSVMaxRows is the largest dataset written as CSV (the rows of one
	// spreadsheet); DatasetsWithoutCSV are the datasets above it, published
	// as Parquet (and in the snapshot) only.
	CSVMaxRows         int64    `json:"csv_max_rows"`
	DatasetsWithoutCSV []string `json:"datasets_without_csv"`
	// Fingerprints are per dataset a hash of its column names and types and
	// of its set of rows (in any order): the next release skips the diff of
	// a dataset whose fingerprint is unchanged.
	Fingerprints map[string]string `json:"fingerprints,omitempty"`
	// DataAsOf is per source the end of its last complete crawl before
	// the release was built: its data is as of then.
	DataAsOf map[string]time.Time `json:"data_as_of,omitempty"`
	Files    []FileEntry          `json:"files"`
}

// FileEntry is one file of a release. Path is relative to the release
// directory, with forward slashes.
type FileEntry struct {
	Path    string `json:"path"`
	Bytes   int64  `json:"bytes"`
	Rows    *int64 `json:"rows,omitempty"`
	SHA256  string `json:"sha256"`
	Dataset string `json:"dataset,omitempty"`
	Format  string `json:"format"` // parquet, csv, duckdb, json, markdown
}

// Changes is changes.json: per dataset, rows added, updated and removed
// since the previous release (matched on the primary key, compared on a
// hash of every column). Without a previous release every row is added.
type Changes struct {
	ReleaseID         string                    `json:"release_id"`
	PreviousReleaseID string                    `json:"previous_release_id"`
	Datasets          map[string]DatasetChanges `json:"datasets"`
}

// DatasetChanges counts the row changes of one dataset.
type DatasetChanges struct {
	Added   int64 `json:"added"`
	Updated int64 `json:"updated"`
	Removed int64 `json:"removed"`
	// RemovedKeys lists the primary keys of the removed rows (a withdrawn
	// vote, a deleted proposal…), nil when none was removed or the
	// dataset has no primary key.
	RemovedKeys *RemovedKeys `json:"removed_keys,omitempty"`
}

// MaxRemovedKeys bounds RemovedKeys.Keys.
const MaxRemovedKeys = 1000

// RemovedKeys are the keys of a dataset's removed rows, in key order.
type RemovedKeys struct {
	Columns   []string `json:"columns"`
	Keys      [][]any  `json:"keys"`
	Truncated bool     `json:"truncated,omitempty"` // more than MaxRemovedKeys were removed
}

// Zero reports whether nothing changed.
func (c Changes) Zero() bool {
	for _, d := range c.Datasets {
		if d != (DatasetChanges{}) {
			return false
		}
	}
	return true
}

// DataPackage is datapackage.json (Frictionless Data Package v1 with Table
// Schema), and its parts.
type DataPackage struct {
	Profile     string     `json:"profile"`
	Name        string     `json:"name"`
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Version     string     `json:"version"`
	Created     string     `json:"created"`
	Licenses    []Licence  `json:"licenses"`
	Sources     []Source   `json:"sources"`
	Resources   []Resource `json:"resources"`
}

type Source struct {
	Title string `json:"title"`
	Path  string `json:"path,omitempty"`
}

type Resource struct {
	Name        string       `json:"name"`
	Profile     string       `json:"profile"`
	Path        any          `json:"path"` // string or []string
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	Format      string       `json:"format"`
	Mediatype   string       `json:"mediatype"`
	Encoding    string       `json:"encoding,omitempty"`
	Bytes       int64        `json:"bytes,omitempty"`
	Hash        string       `json:"hash,omitempty"`
	Dialect     *Dialect     `json:"dialect,omitempty"`
	Schema      *TableSchema `json:"schema"`
}

type Dialect struct {
	Delimiter      string `json:"delimiter"`
	DoubleQuote    bool   `json:"doubleQuote"`
	LineTerminator string `json:"lineTerminator"`
	QuoteChar      string `json:"quoteChar"`
	Header         bool   `json:"header"`
}

type TableSchema struct {
	Fields        []Field      `json:"fields"`
	PrimaryKey    []string     `json:"primaryKey,omitempty"`
	ForeignKeys   []ForeignKey `json:"foreignKeys,omitempty"`
	MissingValues []string     `json:"missingValues"`
}

type Field struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	Format        string `json:"format,omitempty"`
	Description   string `json:"description"`
	DescriptionFR string `json:"description_fr"`
}

type ForeignKey struct {
	Fields    []string `json:"fields"`
	Reference FKRef    `json:"reference"`
}

type FKRef struct {
	Resource string   `json:"resource"`
	Fields   []string `json:"fields"`
}

// Licence describes a data licence in datapackage form.
type Licence struct {
	Name  string `json:"name"`
	Path  string `json:"path"`
	Title string `json:"title"`
}
