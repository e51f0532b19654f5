package reports

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
)

// TestDatasetsTooLargeForCSV: a dataset above Options.CSVMaxRows has no
// CSV file; the manifest, datapackage.json and README say so and point to
// Parquet; every other dataset keeps its CSV.
func TestDatasetsTooLargeForCSV(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	opts := testOptions(t, t.TempDir())
	probe := publish(t, db, opts)
	// The largest dataset(s) of the fixture go above the limit.
	var max int64
	for _, n := range probe.Manifest.Datasets {
		max = max0(max, n)
	}
	opts.CSVMaxRows = max - 1
	rel := publish(t, db, opts)
	var want []string
	for _, d := range cat.Datasets {
		if rel.Manifest.Datasets[d.Name] > opts.CSVMaxRows {
			want = append(want, d.Name)
		}
	}
	if len(want) == 0 || len(want) == len(cat.Datasets) {
		t.Fatalf("fixture: %d of %d datasets above %d rows", len(want), len(cat.Datasets), opts.CSVMaxRows)
	}
	var m release.Manifest
	if err := release.ReadJSON(filepath.Join(rel.Dir, release.ManifestFile), &m); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.DatasetsWithoutCSV, want) || m.CSVMaxRows != opts.CSVMaxRows {
		t.Errorf("manifest: without CSV %v (max %d), want %v (max %d)", m.DatasetsWithoutCSV, m.CSVMaxRows, want, opts.CSVMaxRows)
	}
	for _, d := range cat.Datasets {
		_, err := os.Stat(filepath.Join(rel.Dir, "csv", d.Name+".csv"))
		if big := slices.Contains(want, d.Name); big != os.IsNotExist(err) {
			t.Errorf("%s: csv exists = %v, want %v", d.Name, err == nil, !big)
		}
	}
	raw, err := os.ReadFile(filepath.Join(rel.Dir, release.DatapackageFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range validateDataPackage(raw, rel.Dir) {
		t.Error(e)
	}
	for _, name := range want {
		if !strings.Contains(string(raw), `"name": "`+name+`",`) || !strings.Contains(string(raw), "No CSV:") {
			t.Errorf("datapackage.json: no Parquet resource %q saying why there is no CSV", name)
		}
	}
	readme, err := os.ReadFile(filepath.Join(rel.Dir, release.ReadmeFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Sans CSV car trop volumineux : `" + want[0], "No CSV, too large: `" + want[0], "`data/" + want[0] + "/` (pas de CSV / no CSV)"} {
		if !strings.Contains(string(readme), s) {
			t.Errorf("README lacks %q", s)
		}
	}
}

func max0(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// TestSnapshotRelocatable: the snapshot's views read the release's Parquet
// files by relative paths, so a downloaded release works from wherever it
// is: through OpenReadOnly, and from any DuckDB with file_search_path.
func TestSnapshotRelocatable(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	rel := publish(t, db, testOptions(t, t.TempDir()))
	moved := filepath.Join(t.TempDir(), "downloaded")
	if out, err := exec.Command("cp", "-r", rel.Dir, moved).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if err := os.RemoveAll(rel.Dir); err != nil {
		t.Fatal(err)
	}
	counts := func(t *testing.T, conn *sql.Conn) {
		t.Helper()
		for _, d := range cat.Datasets {
			var n int64
			if err := conn.QueryRowContext(t.Context(), "SELECT count(*) FROM "+duckdbx.Ident(d.Name)).Scan(&n); err != nil {
				t.Fatalf("%s: %v", d.Name, err)
			}
			if n != rel.Manifest.Datasets[d.Name] {
				t.Errorf("%s: %d rows, want %d", d.Name, n, rel.Manifest.Datasets[d.Name])
			}
		}
	}
	t.Run("OpenReadOnly", func(t *testing.T) {
		snap, err := duckdbx.OpenReadOnly(t.Context(), filepath.Join(moved, release.SnapshotFile))
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		conn, err := snap.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		counts(t, conn)
	})
	t.Run("attach with file_search_path", func(t *testing.T) {
		mem, err := duckdbx.Open(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		defer mem.Close()
		conn, err := mem.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := duckdbx.Exec(t.Context(), conn,
			fmt.Sprintf("ATTACH %s AS rel (READ_ONLY)", duckdbx.Quote(filepath.Join(moved, release.SnapshotFile))),
			"USE rel",
			duckdbx.SearchPathSQL(moved),
		); err != nil {
			t.Fatal(err)
		}
		counts(t, conn)
	})
}

// TestSnapshotConfined: opened the way the query engine opens it, the
// snapshot's views work but nothing else can be read or written.
func TestSnapshotConfined(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	rel := publish(t, db, testOptions(t, t.TempDir()))
	ctx := context.Background()
	path := filepath.Join(rel.Dir, release.SnapshotFile)
	access, err := duckdbx.NewReleaseAccess(path)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := duckdbx.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	conn, err := snap.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, st := range append(access.ConfineSQL(), "SET lock_configuration = true") {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	var n int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM proposal_votes").Scan(&n); err != nil || n != rel.Manifest.Datasets["proposal_votes"] {
		t.Fatalf("view under confinement: %d, %v", n, err)
	}
	outside := t.TempDir()
	for _, q := range []string{
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_csv('csv/projects.csv')",
		"SELECT * FROM read_text('manifest.json')",
		"SELECT * FROM read_parquet('data/**/*.parquet')",
		"SELECT * FROM read_parquet('data/proposals/../../../" + filepath.Base(rel.Dir) + "/data/proposals/proposals.parquet')",
		"COPY (SELECT 1) TO " + duckdbx.Quote(filepath.Join(outside, "x.csv")),
		"COPY (SELECT 1) TO " + duckdbx.Quote(filepath.Join(rel.Dir, "data", "proposals", "new.parquet")),
		"ATTACH " + duckdbx.Quote(filepath.Join(rel.Dir, "x.duckdb")) + " AS x",
		"SET file_search_path = '/'",
		"SET enable_external_access = true",
	} {
		if _, err := conn.ExecContext(ctx, q); err == nil {
			t.Errorf("%s: allowed", q)
		}
	}
}

// TestPublishOnOneConnection: with a working database limited to one
// connection, datasets are written one after the other, with the same
// result as on several connections.
func TestPublishOnOneConnection(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	many := publish(t, db, testOptions(t, t.TempDir()))
	db.SetMaxOpenConns(1)
	one := publish(t, db, testOptions(t, t.TempDir()))
	for name, n := range many.Manifest.Datasets {
		if one.Manifest.Datasets[name] != n || one.Manifest.Fingerprints[name] != many.Manifest.Fingerprints[name] {
			t.Errorf("%s: one connection %d rows (%s), several %d (%s)", name, one.Manifest.Datasets[name],
				one.Manifest.Fingerprints[name], n, many.Manifest.Fingerprints[name])
		}
	}
	if len(one.Manifest.Files) != len(many.Manifest.Files) {
		t.Errorf("%d files on one connection, %d on several", len(one.Manifest.Files), len(many.Manifest.Files))
	}
}

// TestChangesWithoutFingerprints: against a previous release without
// fingerprints (an older one), changes come from the diff on the primary
// key, and unchanged data still gives all zeros.
func TestChangesWithoutFingerprints(t *testing.T) {
	db, opts, first := firstRelease(t)
	var m release.Manifest
	path := filepath.Join(first.Dir, release.ManifestFile)
	if err := release.ReadJSON(path, &m); err != nil {
		t.Fatal(err)
	}
	m.Fingerprints = nil
	if err := release.WriteJSON(path, &m); err != nil {
		t.Fatal(err)
	}
	second := publish(t, db, opts)
	if !second.Changes.Zero() || second.Changes.PreviousReleaseID != first.ID {
		t.Errorf("unchanged data diffed without fingerprints: %+v", second.Changes)
	}
	if _, err := db.Exec("UPDATE core.projects SET title = title || ' (modifié)' WHERE project_id = 'project_id-3'"); err != nil {
		t.Fatal(err)
	}
	third := publish(t, db, opts)
	checkOnlyChange(t, third.Changes, "projects", release.DatasetChanges{Updated: 1})
}
