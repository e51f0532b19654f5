package reports

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
)

func loadCatalog(t testing.TB) *datasets.Contract {
	t.Helper()
	c, err := datasets.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func publish(t testing.TB, db *sql.DB, opts Options) *Published {
	t.Helper()
	rel, err := Publish(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

func TestPublishRoundTrip(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	out := t.TempDir()
	rel := publish(t, db, testOptions(t, out))

	cur, err := release.Current(out)
	if err != nil || cur == nil || cur.ID != rel.ID {
		t.Fatalf("Current = %+v, %v; want release %s", cur, err, rel.ID)
	}
	if !regexp.MustCompile(`^\d{8}T\d{6}Z$`).MatchString(rel.ID) {
		t.Errorf("release id %q is not a UTC timestamp", rel.ID)
	}
	for _, d := range cat.Datasets {
		t.Run(d.Name, func(t *testing.T) {
			want := sqlDigest(t, db, fmt.Sprintf("SELECT %s FROM %s", selectList(&d), tableRef(d.Table)), len(d.Columns))
			if want.Rows == 0 {
				t.Fatal("fixture has no rows")
			}
			if got := rel.Manifest.Datasets[d.Name]; got != int64(want.Rows) {
				t.Errorf("manifest rows = %d, want %d", got, want.Rows)
			}
			dir := filepath.Join(rel.Dir, "data", d.Name)
			glob := duckdbx.Quote(filepath.Join(dir, "**", "*.parquet"))
			duck := sqlDigest(t, db, fmt.Sprintf("SELECT %s FROM read_parquet(%s, hive_partitioning = true, hive_types_autocast = false)", selectList(&d), glob), len(d.Columns))
			if duck != want {
				t.Errorf("DuckDB read of the Parquet files = %+v, want %+v", duck, want)
			}
			if got := arrowDigest(t, dir, &d); got != want {
				t.Errorf("Arrow read of the Parquet files = %+v, want %+v", got, want)
			}
			csvPath := duckdbx.Quote(filepath.Join(rel.Dir, "csv", d.Name+".csv"))
			var types []string
			for _, c := range d.Columns {
				types = append(types, fmt.Sprintf("%s: '%s'", duckdbx.Quote(c.Name), c.Type))
			}
			got := sqlDigest(t, db, fmt.Sprintf("SELECT %s FROM read_csv(%s, header = true, columns = {%s})", selectList(&d), csvPath, strings.Join(types, ", ")), len(d.Columns))
			if got.Rows != want.Rows {
				t.Errorf("CSV rows = %d, want %d", got.Rows, want.Rows)
			}
			// CSV timestamps are to the second, as are the fixture's.
			if got != want {
				t.Errorf("CSV read = %+v, want %+v", got, want)
			}
		})
	}

	// Partitioned datasets are hive partitions by source.
	for _, name := range defaultPartitioned {
		for _, src := range []string{"src0", "src1"} {
			if _, err := os.Stat(filepath.Join(rel.Dir, "data", name, "source="+src, "part-0.parquet")); err != nil {
				t.Errorf("partition %s/source=%s: %v", name, src, err)
			}
		}
	}
	// Per-column descriptions reach Arrow readers as field metadata.
	proposals, _ := cat.Dataset("proposals")
	s := arrowSchema(t, filepath.Join(rel.Dir, "data", "proposals", "proposals.parquet"))
	for _, c := range proposals.Columns {
		fields, ok := s.FieldsByName(c.Name)
		if !ok {
			t.Fatalf("field %s missing", c.Name)
		}
		if got, _ := fields[0].Metadata.GetValue("description"); got != c.Description {
			t.Errorf("field %s description = %q, want %q", c.Name, got, c.Description)
		}
		if got, _ := fields[0].Metadata.GetValue("description_fr"); got != c.DescriptionFR {
			t.Errorf("field %s description_fr = %q, want %q", c.Name, got, c.DescriptionFR)
		}
	}
}

func TestCSVIsRFC4180(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	pub := publish(t, db, testOptions(t, t.TempDir()))
	raw, err := os.ReadFile(filepath.Join(pub.Dir, "csv", "proposals.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Error("records must end with CRLF")
	}
	r := csv.NewReader(bytes.NewReader(raw))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("encoding/csv cannot read the file: %v", err)
	}
	d, _ := cat.Dataset("proposals")
	var header []string
	for _, c := range d.Columns {
		header = append(header, c.Name)
	}
	if !slices.Equal(recs[0], header) {
		t.Errorf("header = %v, want %v", recs[0], header)
	}
	titleCol := slices.Index(header, "title")
	var titles []string
	for _, rec := range recs[1:] {
		titles = append(titles, rec[titleCol])
	}
	for _, want := range []string{hostileTitle, accentTitle} {
		// encoding/csv turns \r\n inside quotes into \n; the fixture uses \n.
		if !slices.Contains(titles, want) {
			t.Errorf("title %q not round-tripped through CSV", want)
		}
	}
	created := slices.Index(header, "created_at")
	if v := recs[1][created]; !regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)?$`).MatchString(v) {
		t.Errorf("created_at = %q, want ISO 8601 UTC", v)
	}
}

func TestManifestChecksumsVerify(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	pub := publish(t, db, testOptions(t, t.TempDir()))
	var m release.Manifest
	if err := release.ReadJSON(filepath.Join(pub.Dir, release.ManifestFile), &m); err != nil {
		t.Fatal(err)
	}
	if m.ReleaseID != pub.ID || m.PreviousReleaseID != "" {
		t.Errorf("manifest ids = %q/%q", m.ReleaseID, m.PreviousReleaseID)
	}
	onDisk := map[string]bool{}
	filepath.WalkDir(pub.Dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			onDisk[rel(pub.Dir, p)] = true
		}
		return err
	})
	delete(onDisk, release.ManifestFile)
	for _, f := range m.Files {
		if !onDisk[f.Path] {
			t.Errorf("manifest lists %s, absent on disk", f.Path)
		}
		delete(onDisk, f.Path)
		n, sum, err := hashFile(filepath.Join(pub.Dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if n != f.Bytes || sum != f.SHA256 {
			t.Errorf("%s: manifest %d/%s, disk %d/%s", f.Path, f.Bytes, f.SHA256, n, sum)
		}
		if (f.Format == "parquet" || f.Format == "csv") && (f.Rows == nil || f.Dataset == "") {
			t.Errorf("%s: data file without rows or dataset", f.Path)
		}
	}
	if len(onDisk) > 0 {
		t.Errorf("files missing from the manifest: %v", onDisk)
	}
	// A corrupted file is caught by verification.
	target := filepath.Join(pub.Dir, "csv", "projects.csv")
	os.Chmod(target, 0o644)
	if err := os.WriteFile(target, []byte("tampered\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := verifyRelease(context.Background(), conn, pub.Dir, &m); err == nil || !strings.Contains(err.Error(), "size mismatch") {
		t.Errorf("verify after tampering = %v, want size mismatch", err)
	}
}

// firstRelease publishes the fixture working database once into a new
// output folder: the start of the tests that publish again over it.
func firstRelease(t *testing.T) (db *sql.DB, opts Options, first *Published) {
	t.Helper()
	db = newWorkingDB(t, loadCatalog(t))
	opts = testOptions(t, t.TempDir())
	return db, opts, publish(t, db, opts)
}

func TestFailureBeforeSwitchKeepsLatest(t *testing.T) {
	db, opts, first := firstRelease(t)
	out := opts.OutDir

	if _, err := db.Exec("UPDATE core.projects SET title = 'changed' WHERE project_id = 'project_id-3'"); err != nil {
		t.Fatal(err)
	}
	crash := errors.New("simulated crash")
	var sawTmp string
	opts.beforeSwitch = func(tmp string) error {
		sawTmp = tmp
		if _, err := os.Stat(filepath.Join(tmp, release.ManifestFile)); err != nil {
			t.Errorf("hook runs before the release is complete: %v", err)
		}
		return crash
	}
	_, err := Publish(context.Background(), db, opts)
	if !errors.Is(err, crash) {
		t.Fatalf("Publish = %v, want the injected failure", err)
	}
	cur, err := release.Current(out)
	if err != nil || cur.ID != first.ID {
		t.Fatalf("latest = %v, %v; want %s", cur, err, first.ID)
	}
	if _, err := os.Stat(sawTmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("half release %s left behind: %v", sawTmp, err)
	}
	ids, _ := release.List(filepath.Join(out, release.ReleasesDir))
	if !slices.Equal(ids, []string{first.ID}) {
		t.Errorf("releases = %v, want only %s", ids, first.ID)
	}

	// A crash that killed the process leaves a .tmp- directory: the next
	// publish removes it and diffs against the still-current release.
	stale := filepath.Join(out, release.ReleasesDir, release.TmpPrefix+"20261129T000000Z")
	os.MkdirAll(filepath.Join(stale, "data"), 0o755)
	opts.beforeSwitch = nil
	second := publish(t, db, opts)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary release not cleaned: %v", err)
	}
	if second.Changes.PreviousReleaseID != first.ID || second.Changes.Datasets["projects"] != (release.DatasetChanges{Updated: 1}) {
		t.Errorf("changes = %+v", second.Changes)
	}
}

// recordKeyCheck is what transform records after its key tests of
// core.districts passed (datasets.KeyChecksTable).
var recordKeyCheck = datasets.KeyChecksDDL + ";\n" + recordKeyCheckOf("districts")

// recordKeyCheckOf adds what transform records after the key tests of
// dataset name passed.
func recordKeyCheckOf(name string) string {
	d, _ := datasets.MustLoad().Dataset(name)
	return d.RecordKeyCheckSQL() + ";\n"
}

// TestRecordedKeyCheckIsTrusted: when transform's record matches, the
// release is the same as with the exact check.
func TestRecordedKeyCheckIsTrusted(t *testing.T) {
	db, opts, first := firstRelease(t)
	if _, err := db.Exec(recordKeyCheck + recordKeyCheckOf("users")); err != nil {
		t.Fatal(err)
	}
	var c *sql.Conn
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checks, err := keyChecks(context.Background(), c)
	if k := checks["core.districts"]; err != nil || !k.found || k.rows == 0 {
		t.Fatalf("keyChecks = %+v, %v", checks, err)
	}
	second := publish(t, db, opts)
	if !second.Changes.Zero() || second.Manifest.Datasets["districts"] != first.Manifest.Datasets["districts"] {
		t.Errorf("trusted check changed the release: %+v", second.Changes)
	}
	// The fingerprints taken from the records are stable, and change with
	// the privacy policy.
	third := publish(t, db, opts)
	for _, name := range []string{"districts", "users"} {
		if fp := third.Manifest.Fingerprints[name]; fp == "" || fp != second.Manifest.Fingerprints[name] {
			t.Errorf("%s fingerprint %q then %q", name, second.Manifest.Fingerprints[name], fp)
		}
		if first.Manifest.Fingerprints[name] == second.Manifest.Fingerprints[name] {
			t.Errorf("%s fingerprint does not come from the record", name)
		}
	}
	other := opts
	other.Privacy.MinGroupSize++
	if fp := publish(t, db, other).Manifest.Fingerprints["users"]; fp == third.Manifest.Fingerprints["users"] {
		t.Errorf("users fingerprint %q ignores the privacy policy", fp)
	}
	// Whatever else rewrites the table deletes its record; the change is
	// then found by the full scan.
	if _, err := db.Exec("UPDATE core.districts SET name = 'renamed' WHERE district_id = (SELECT max(district_id) FROM core.districts); DELETE FROM " + datasets.KeyChecksTable); err != nil {
		t.Fatal(err)
	}
	if got := publish(t, db, opts).Changes.Datasets["districts"]; got != (release.DatasetChanges{Updated: 1}) {
		t.Errorf("changes after an update = %+v, want 1 updated", got)
	}
}

func TestBadInputKeepsLatest(t *testing.T) {
	tests := []struct {
		name   string
		break_ string
		want   string
	}{
		{"missing table", "DROP TABLE core.events", "core.events does not exist"},
		{"missing column", "ALTER TABLE core.steps DROP COLUMN phase", "lacks catalogue columns phase"},
		{"duplicate key", "INSERT INTO core.districts SELECT * FROM core.districts LIMIT 1", "primary key (source, district_id) of core.districts is violated"},
		// transform recorded a passing key check; the table changed since.
		{"duplicate key after the recorded check", recordKeyCheck + "INSERT INTO core.districts SELECT * FROM core.districts LIMIT 1", "core.districts is violated: 1 duplicated keys"},
		{"key changed after the recorded check", recordKeyCheck + "UPDATE core.districts SET district_id = (SELECT min(district_id) FROM core.districts x WHERE x.source = core.districts.source) WHERE district_id = (SELECT max(district_id) FROM core.districts)", "core.districts is violated: 1 duplicated keys"},
		{"NULL key after the recorded check", recordKeyCheck + "UPDATE core.districts SET district_id = NULL WHERE district_id = (SELECT max(district_id) FROM core.districts)", "core.districts is violated: 0 duplicated keys, 1 rows with a NULL key"},
		{"bad type", "ALTER TABLE core.proposals ALTER votes_count TYPE VARCHAR; UPDATE core.proposals SET votes_count = 'many'", "core.proposals"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, opts, first := firstRelease(t)
			out := opts.OutDir
			if _, err := db.Exec(tt.break_); err != nil {
				t.Fatal(err)
			}
			_, err := Publish(context.Background(), db, opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Publish = %v, want error containing %q", err, tt.want)
			}
			cur, err := release.Current(out)
			if err != nil || cur.ID != first.ID {
				t.Fatalf("latest = %v, %v; want %s", cur, err, first.ID)
			}
			entries, _ := os.ReadDir(filepath.Join(out, release.ReleasesDir))
			if len(entries) != 1 {
				t.Errorf("release dir holds %d entries, want 1", len(entries))
			}
		})
	}
}

func TestChanges(t *testing.T) {
	cat := loadCatalog(t)
	db, opts, first := firstRelease(t)
	for _, d := range cat.Datasets {
		if got := first.Changes.Datasets[d.Name]; got.Added != first.Manifest.Datasets[d.Name] || got.Updated != 0 || got.Removed != 0 {
			t.Errorf("first release %s changes = %+v", d.Name, got)
		}
	}

	second := publish(t, db, opts)
	if !second.Changes.Zero() || len(second.Changes.Datasets) != len(cat.Datasets) {
		t.Errorf("unchanged data: changes = %+v, want all zero", second.Changes)
	}
	var onDisk release.Changes
	if err := release.ReadJSON(filepath.Join(second.Dir, release.ChangesFile), &onDisk); err != nil || !onDisk.Zero() || onDisk.PreviousReleaseID != first.ID {
		t.Errorf("changes.json = %+v, %v", onDisk, err)
	}

	for _, q := range []string{
		"UPDATE metrics.participation_daily SET votes = votes + 1 WHERE project_id IN ('project_id-4', 'project_id-5')",
		"DELETE FROM metrics.participation_daily WHERE project_id = 'project_id-6'",
		"INSERT INTO metrics.participation_daily SELECT * REPLACE ('project_id-new' AS project_id) FROM metrics.participation_daily WHERE project_id = 'project_id-7'",
		"UPDATE core.users SET username = 'renamed'", // not published: no change
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	third := publish(t, db, opts)
	want := map[string]release.DatasetChanges{"participation_daily": {Added: 1, Updated: 2, Removed: 1}}
	for name, got := range third.Changes.Datasets {
		if counts(got) != want[name] {
			t.Errorf("%s changes = %+v, want %+v", name, got, want[name])
		}
	}
	if rk := third.Changes.Datasets["participation_daily"].RemovedKeys; rk == nil || len(rk.Keys) != 1 || !strings.Contains(fmt.Sprint(rk.Keys[0]), "project_id-6") {
		t.Errorf("removed keys of participation_daily = %+v, want the deleted row's", rk)
	}
}

// counts is c without its removed keys.
func counts(c release.DatasetChanges) release.DatasetChanges {
	c.RemovedKeys = nil
	return c
}

func TestChangesFromParquetWithoutSnapshot(t *testing.T) {
	db, opts, first := firstRelease(t)
	snap := filepath.Join(first.Dir, release.SnapshotFile)
	os.Chmod(first.Dir, 0o755)
	if err := os.Remove(snap); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM core.proposal_votes WHERE vote_id = 'vote_id-2'"); err != nil {
		t.Fatal(err)
	}
	second := publish(t, db, opts)
	checkOnlyChange(t, second.Changes, "proposal_votes", release.DatasetChanges{Removed: 1})
	rk := second.Changes.Datasets["proposal_votes"].RemovedKeys
	if rk == nil || len(rk.Keys) != 1 || !slices.Contains(rk.Columns, "vote_id") || !strings.Contains(fmt.Sprint(rk.Keys[0]), "vote_id-2") || rk.Truncated {
		t.Errorf("removed keys of proposal_votes = %+v, want the withdrawn vote's", rk)
	}
}

func TestRetention(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	out := t.TempDir()
	opts := testOptions(t, out)
	opts.Retention = 2
	var ids []string
	for range 4 {
		ids = append(ids, publish(t, db, opts).ID)
	}
	got, err := release.List(filepath.Join(out, release.ReleasesDir))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ids[2:]) {
		t.Errorf("releases after retention = %v, want %v", got, ids[2:])
	}
	if cur, _ := release.Current(out); cur.ID != ids[3] {
		t.Errorf("current = %s, want %s", cur.ID, ids[3])
	}
	// The current release survives even when it is not among the newest.
	deleted, err := release.ApplyRetention(filepath.Join(out, release.ReleasesDir), ids[2], 0)
	if err != nil || !slices.Equal(deleted, []string{ids[3]}) {
		t.Errorf("retention keep=0 deleted %v, %v; want only %s", deleted, err, ids[3])
	}
}

func TestReleaseIDs(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 29, 17, 15, 2, 0, time.FixedZone("CET", 3600))
	id := release.NewID(at, dir)
	if id != "20261129T161502Z" {
		t.Fatalf("id = %s", id)
	}
	os.Mkdir(filepath.Join(dir, id), 0o755)
	id2 := release.NewID(at, dir)
	if id2 != id+"-2" {
		t.Fatalf("second id = %s", id2)
	}
	os.Mkdir(filepath.Join(dir, id2), 0o755)
	for i := 3; i <= 10; i++ {
		os.Mkdir(filepath.Join(dir, release.NewID(at, dir)), 0o755)
	}
	os.Mkdir(filepath.Join(dir, "20261128T000000Z"), 0o755)
	os.Mkdir(filepath.Join(dir, "not-a-release"), 0o755)
	ids, _ := release.List(dir)
	if ids[0] != "20261128T000000Z" || ids[1] != id || ids[2] != id2 || ids[len(ids)-1] != id+"-10" || len(ids) != 11 {
		t.Errorf("order = %v", ids)
	}
}

func TestSnapshotWorksOffline(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	rel := publish(t, db, testOptions(t, t.TempDir()))
	snap, err := duckdbx.OpenReadOnly(context.Background(), filepath.Join(rel.Dir, release.SnapshotFile))
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	snap.SetMaxOpenConns(1)
	// Offline and confined the way the query engine opens it: no external
	// access except reading the release's own Parquet files.
	access, err := duckdbx.NewReleaseAccess(filepath.Join(rel.Dir, release.SnapshotFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range access.ConfineSQL() {
		if _, err := snap.Exec(st); err != nil {
			t.Fatal(err)
		}
	}
	var id, prev any
	var created time.Time
	if err := snap.QueryRow("SELECT release_id, created_at, previous_release_id FROM release_info").Scan(&id, &created, &prev); err != nil {
		t.Fatal(err)
	}
	if id != rel.ID || !created.Equal(rel.CreatedAt) || prev != nil {
		t.Errorf("release_info = %v %v %v", id, created, prev)
	}
	for _, d := range cat.Datasets {
		got := sqlDigest(t, snap, fmt.Sprintf("SELECT %s FROM main.%s", selectList(&d), duckdbx.Ident(d.Name)), len(d.Columns))
		want := sqlDigest(t, db, fmt.Sprintf("SELECT %s FROM %s", selectList(&d), tableRef(d.Table)), len(d.Columns))
		if got != want {
			t.Errorf("snapshot %s = %+v, want %+v", d.Name, got, want)
		}
	}
	var comment string
	if err := snap.QueryRow("SELECT comment FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = 'proposals' AND column_name = 'estimated_cost_eur'").Scan(&comment); err != nil || !strings.Contains(comment, "never guessed") {
		t.Errorf("column comment = %q, %v", comment, err)
	}
	if _, err := snap.Exec("CREATE TABLE x (a INT)"); err == nil {
		t.Error("snapshot accepted a write")
	}
}

func TestReadmeAndLicence(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	opts := testOptions(t, t.TempDir())
	opts.Licence = "odbl-1.0"
	rel := publish(t, db, opts)
	readme, err := os.ReadFile(filepath.Join(rel.Dir, release.ReadmeFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Français", "## English", rel.ID, "Open Database License", "`estimated_cost_eur`"} {
		if !bytes.Contains(readme, []byte(want)) {
			t.Errorf("README lacks %q", want)
		}
	}
	for _, d := range cat.Datasets {
		for _, c := range d.Columns {
			if !bytes.Contains(readme, []byte(cell(c.DescriptionFR))) || !bytes.Contains(readme, []byte(cell(c.Description))) {
				t.Errorf("README lacks the descriptions of %s.%s", d.Name, c.Name)
			}
		}
	}
	opts.Licence = "cc-by"
	if _, err := Publish(context.Background(), db, opts); err == nil {
		t.Error("unknown licence accepted")
	}
}

func TestDataPackageIsValid(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	rel := publish(t, db, testOptions(t, t.TempDir()))
	raw, err := os.ReadFile(filepath.Join(rel.Dir, release.DatapackageFile))
	if err != nil {
		t.Fatal(err)
	}
	if errs := validateDataPackage(raw, rel.Dir); len(errs) > 0 {
		for _, e := range errs {
			t.Error(e)
		}
	}
	// The validator is not a rubber stamp.
	var dp map[string]any
	json.Unmarshal(raw, &dp)
	res := dp["resources"].([]any)[1].(map[string]any)
	sch := res["schema"].(map[string]any)
	sch["fields"].([]any)[0].(map[string]any)["type"] = "varchar"
	sch["primaryKey"] = []any{"nope"}
	res["schema"].(map[string]any)["foreignKeys"] = []any{map[string]any{"fields": []any{"source"}, "reference": map[string]any{"resource": "ghost", "fields": []any{"source"}}}}
	bad, _ := json.Marshal(dp)
	if errs := validateDataPackage(bad, rel.Dir); len(errs) < 3 {
		t.Errorf("validator found %v in a broken package, want 3 errors", errs)
	}
}

func TestBrokenLatestDoesNotBlock(t *testing.T) {
	db, opts, first := firstRelease(t)
	out := opts.OutDir
	if err := os.RemoveAll(first.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := release.Current(out); err == nil {
		t.Fatal("Current of a dangling latest should fail")
	}
	second := publish(t, db, opts)
	if cur, err := release.Current(out); err != nil || cur.ID != second.ID {
		t.Fatalf("Current = %v, %v", cur, err)
	}
	if second.Changes.PreviousReleaseID != "" || second.Changes.Datasets["projects"].Added != second.Manifest.Datasets["projects"] {
		t.Errorf("changes = %+v", second.Changes)
	}
}

// checkOnlyChange fails unless dataset changed as want and no other did.
func checkOnlyChange(t *testing.T, c release.Changes, dataset string, want release.DatasetChanges) {
	t.Helper()
	for name, got := range c.Datasets {
		w := release.DatasetChanges{}
		if name == dataset {
			w = want
		}
		if counts(got) != w {
			t.Errorf("%s changes = %+v, want %+v", name, got, w)
		}
	}
}

// TestPartitionValueThatCannotNameAFolder: a source value with a space, a
// slash or an accent is written by PARTITION_BY (escaped) and still reads
// back whole.
func TestPartitionValueThatCannotNameAFolder(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	const odd = "Île-de-France / nord"
	if _, err := db.Exec("UPDATE core.contributions SET source = ? WHERE source = 'src1'", odd); err != nil {
		t.Fatal(err)
	}
	rel := publish(t, db, testOptions(t, t.TempDir()))
	d, _ := cat.Dataset("contributions")
	want := sqlDigest(t, db, fmt.Sprintf("SELECT %s FROM %s", selectList(d), tableRef(d.Table)), len(d.Columns))
	glob := duckdbx.Quote(filepath.Join(rel.Dir, "data", d.Name, "**", "*.parquet"))
	got := sqlDigest(t, db, fmt.Sprintf("SELECT %s FROM read_parquet(%s, hive_partitioning = true, hive_types_autocast = false)", selectList(d), glob), len(d.Columns))
	if got != want {
		t.Errorf("Parquet read = %+v, want %+v", got, want)
	}
	var files []string
	for _, f := range rel.Manifest.Files {
		if f.Dataset == d.Name && f.Format == "parquet" {
			files = append(files, f.Path)
			if !strings.HasPrefix(f.Path, "data/contributions/source=") || strings.Count(f.Path, "/") != 3 {
				t.Errorf("partition file %s is not data/contributions/source=<value>/<file>", f.Path)
			}
		}
	}
	if len(files) != 2 {
		t.Errorf("partition files = %v, want one per source", files)
	}
}

// TestOlderKeyChecksWithoutContentSum: a working database whose key
// checks predate content sums is still read; publish then hashes the rows.
func TestOlderKeyChecksWithoutContentSum(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	d, _ := cat.Dataset("districts")
	if _, err := db.Exec(`CREATE SCHEMA IF NOT EXISTS meta; CREATE OR REPLACE TABLE ` + datasets.KeyChecksTable +
		` AS SELECT 'core.districts' AS table_name, count(*) AS row_count, ` + datasets.HashSumSQL(d.PrimaryKey) + ` AS key_sum FROM core.districts`); err != nil {
		t.Fatal(err)
	}
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checks, err := keyChecks(context.Background(), c)
	c.Close()
	if k := checks["core.districts"]; err != nil || !k.found || k.rows == 0 || k.contentSum != "" {
		t.Fatalf("keyChecks = %+v, %v", checks, err)
	}
	opts := testOptions(t, t.TempDir())
	first := publish(t, db, opts)
	if second := publish(t, db, opts); !second.Changes.Zero() || second.Manifest.Fingerprints["districts"] != first.Manifest.Fingerprints["districts"] {
		t.Errorf("second release over the same rows: %+v", second.Changes)
	}
}
