package queries

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/capstat/capstat/internal/duckdbx"
)

func TestParseQueryErrors(t *testing.T) {
	ok := "/* ---\ntitle: T\ndescription: D\nparams:\n  - {name: p, type: int, default: 3, description: x}\n--- */\nSELECT $p;\n"
	if q, err := ParseQuery("good", []byte(ok)); err != nil || q.SQL != "SELECT $p" || q.Params[0].Default != int64(3) {
		t.Fatalf("good query: %+v %v", q, err)
	}
	for _, tc := range []struct{ name, file, src, want string }{
		{"no front matter", "a", "SELECT 1", "missing front matter"},
		{"unterminated", "a", "/* ---\ntitle: x\n", "unterminated"},
		{"no title", "a", "/* ---\ndescription: d\n--- */\nSELECT 1", "title and description"},
		{"unknown field", "a", "/* ---\ntitle: t\ndescription: d\nauthor: me\n--- */\nSELECT 1", "front matter"},
		{"empty sql", "a", "/* ---\ntitle: t\ndescription: d\n--- */\n ; ", "empty SQL"},
		{"undeclared", "a", "/* ---\ntitle: t\ndescription: d\n--- */\nSELECT $x", "undeclared parameter $x"},
		{"unused", "a", "/* ---\ntitle: t\ndescription: d\nparams: [{name: x, type: int, description: d}]\n--- */\nSELECT 1", "not used"},
		{"bad type", "a", "/* ---\ntitle: t\ndescription: d\nparams: [{name: x, type: money, description: d}]\n--- */\nSELECT $x", "unknown type"},
		{"bad default", "a", "/* ---\ntitle: t\ndescription: d\nparams: [{name: x, type: int, default: abc, description: d}]\n--- */\nSELECT $x", "default"},
		{"duplicate", "a", "/* ---\ntitle: t\ndescription: d\nparams: [{name: x, type: int, description: d}, {name: x, type: int, description: d}]\n--- */\nSELECT $x", "twice"},
		{"bad name", "A-b", ok, "invalid name"},
	} {
		_, err := ParseQuery(tc.file, []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	c, err := LoadCatalogFS(fstest.MapFS{"good.sql": {Data: []byte(ok)}, "README.md": {Data: []byte("x")}})
	if err != nil || len(c.Queries()) != 1 {
		t.Fatalf("LoadCatalogFS: %v", err)
	}
}

func TestBind(t *testing.T) {
	q := &Query{Name: "q", Params: []Param{
		{Name: "s", Type: TypeString, Required: true},
		{Name: "i", Type: TypeInt, Default: int64(7)},
		{Name: "f", Type: TypeFloat},
		{Name: "d", Type: TypeDate},
		{Name: "b", Type: TypeBool, Default: false},
	}}
	got, err := q.Bind(map[string]string{"s": "x", "f": "1.5", "d": "2024-02-29", "b": "oui"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"s": "x", "i": int64(7), "f": 1.5, "d": "2024-02-29", "b": true}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	for _, bad := range []map[string]string{
		{},                            // missing required
		{"s": "x", "zz": "1"},         // unknown
		{"s": "x", "i": "1.5"},        // not an int
		{"s": "x", "f": "un"},         // not a float
		{"s": "x", "d": "2024-02-30"}, // not a date
		{"s": "x", "d": "29/02/2024"}, // not ISO
		{"s": "x", "b": "peut-être"},  // not a bool
		{"s": "x", "i": "9999999999999999999999"},
	} {
		if _, err := q.Bind(bad); AsError(err).Code != CodeInvalidParameter {
			t.Errorf("Bind(%v) err = %v, want invalid_parameter", bad, err)
		}
	}
}

// TestCannedExportsAreComplete: JSON answers stop at the row limit and say
// so; CSV and Parquet exports of canned queries are never cut.
func TestCannedExportsAreComplete(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{MaxRows: 3})
	ctx := context.Background()
	params := map[string]string{"limit": "1000", "include_trashed": "true"}
	total := len(fx["proposals"])

	var js bytes.Buffer
	if err := e.Run(ctx, "top_proposals", params, &js, FormatJSON); err != nil {
		t.Fatal(err)
	}
	r := decodeResult(t, js.Bytes())
	if !r.Truncated || r.RowLimit != 3 || len(r.Rows) != 3 {
		t.Fatalf("json: truncated=%v limit=%d rows=%d", r.Truncated, r.RowLimit, len(r.Rows))
	}

	var cb bytes.Buffer
	if err := e.Run(ctx, "top_proposals", params, &cb, FormatCSV); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&cb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != total+1 || recs[0][0] != "source" {
		t.Fatalf("csv: %d records, want %d + header", len(recs), total)
	}
	titles := map[string]bool{}
	for _, rec := range recs[1:] {
		titles[rec[4]] = true
	}
	for _, ft := range funnyTitles {
		if !titles[ft] {
			t.Errorf("csv lost title %q", ft)
		}
	}

	var pb bytes.Buffer
	if err := e.Run(ctx, "top_proposals", params, &pb, FormatParquet); err != nil {
		t.Fatal(err)
	}
	pq := filepath.Join(t.TempDir(), "x.parquet")
	if err := os.WriteFile(pq, pb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, votes int64
	var hostile int
	if err := db.QueryRowContext(ctx, "SELECT count(*), sum(votes_count), count(*) FILTER (WHERE title = $1) FROM read_parquet($2)", hostileTitle, pq).Scan(&n, &votes, &hostile); err != nil {
		t.Fatal(err)
	}
	var wantVotes int64
	for _, p := range fx["proposals"] {
		wantVotes += i64(p, "votes_count")
	}
	if n != int64(total) || votes != wantVotes || hostile == 0 {
		t.Fatalf("parquet: %d rows, %d votes, %d hostile; want %d rows, %d votes", n, votes, hostile, total, wantVotes)
	}

	var tb bytes.Buffer
	if err := e.Run(ctx, "top_proposals", params, &tb, FormatTable); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(tb.String(), "\n"), "\n")
	if len(lines) != 2+3+1 || !strings.Contains(lines[len(lines)-1], "tronqué") || !strings.HasPrefix(lines[0], "source") {
		t.Fatalf("table output:\n%s", tb.String())
	}
}

func TestAdHocCSVLimit(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{MaxExportRows: 10})
	var buf bytes.Buffer
	err := e.SQL(context.Background(), "SELECT proposal_id FROM proposals", &buf, FormatCSV)
	if AsError(err).Code != CodeResultTooLarge || buf.Len() != 0 {
		t.Fatalf("err = %v, %d bytes written; want result_too_large before any output", err, buf.Len())
	}
	buf.Reset()
	if err := e.SQL(context.Background(), "SELECT proposal_id FROM proposals LIMIT 10", &buf, FormatCSV); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 11 {
		t.Fatalf("%d lines, want 11", n)
	}
	_ = fx
}

// TestTooManyConcurrentQueries holds the only slot with a slow query and
// checks that the next one gets 429 at once.
func TestTooManyConcurrentQueries(t *testing.T) {
	e, _, _ := openFixture(t, Limits{MaxConcurrent: 1})
	srv := httptest.NewServer(Handler(e, HandlerOptions{Logger: quietLogger()}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.SQL(ctx, "SELECT count(*) FROM range(1000000000000)", &bytes.Buffer{}, FormatJSON)
	}()
	for len(e.sem) == 0 { // wait until the slow query holds the slot
		select {
		case err := <-done:
			t.Fatalf("slow query ended early: %v", err)
		default:
		}
		runtimeGosched()
	}
	status, body := postSQL(t, srv, "SELECT 1", "json")
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	if status != http.StatusTooManyRequests || ae.Error.Code != CodeTooBusy {
		t.Errorf("status %d body %s, want 429", status, body)
	}
	cancel()
	if err := <-done; AsError(err).Code != CodeTimeout {
		t.Errorf("cancelled query: %v", err)
	}
	if status, body := postSQL(t, srv, "SELECT 1", "json"); status != 200 {
		t.Errorf("after the slow query: %d %s", status, body)
	}
}

// TestReopenKeepsRunningQueries switches releases while a query holds the
// old snapshot: the holder keeps working, new queries see the new release,
// and the old snapshot is closed once released.
func TestReopenKeepsRunningQueries(t *testing.T) {
	dir := t.TempDir()
	pathA, pathB := filepath.Join(dir, "a", "capstat.duckdb"), filepath.Join(dir, "b", "capstat.duckdb")
	writeSnapshot(t, pathA, fixture{}, "UPDATE data.release_info SET release_id = 'A'")
	writeSnapshot(t, pathB, fixture{}, "UPDATE data.release_info SET release_id = 'B'")
	latest := filepath.Join(dir, "latest")
	if err := os.Symlink(pathA, latest); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, err := Open(ctx, latest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	releaseID := func() string {
		var buf bytes.Buffer
		if err := e.SQL(ctx, "SELECT release_id FROM release_info", &buf, FormatCSV); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(strings.TrimPrefix(buf.String(), "release_id\n"))
	}
	if got := releaseID(); got != "A" {
		t.Fatalf("release = %q, want A", got)
	}
	old, release, err := e.acquire() // a query running on A
	if err != nil {
		t.Fatal(err)
	}
	// Switch the symlink atomically, as the publisher does, then reopen.
	tmp := filepath.Join(dir, "latest.tmp")
	if err := os.Symlink(pathB, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, latest); err != nil {
		t.Fatal(err)
	}
	if err := e.Reopen(ctx, latest); err != nil {
		t.Fatal(err)
	}
	if got := releaseID(); got != "B" {
		t.Fatalf("after reopen release = %q, want B", got)
	}
	c, put, err := old.conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	if err := c.QueryRowContext(ctx, "SELECT release_id FROM release_info").Scan(&id); err != nil || id != "A" {
		t.Fatalf("running query on the old release: %q %v", id, err)
	}
	put()
	release()
	if err := old.db.PingContext(ctx); err == nil {
		t.Error("old snapshot still open after its last query")
	}
	if _, err := os.Stat(old.tmpDir); !os.IsNotExist(err) {
		t.Errorf("old temp dir not removed: %v", err)
	}
}

func TestListHandler(t *testing.T) {
	e, _, _ := openFixture(t, Limits{})
	srv := httptest.NewServer(Handler(e, HandlerOptions{Logger: quietLogger()}))
	defer srv.Close()
	status, hdr, body := get(t, srv, "/api/queries")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d", status)
	}
	var doc struct {
		Queries []queryDoc `json:"queries"`
		Tables  []string   `json:"tables"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Queries) != len(e.Catalog().Queries()) || len(doc.Tables) == 0 {
		t.Fatalf("%d queries, %d tables", len(doc.Queries), len(doc.Tables))
	}
	var wg sync.WaitGroup
	for _, q := range doc.Queries {
		for f, link := range q.Links {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, hdr, body := get(t, srv, link)
				if status != 200 && status != http.StatusTooManyRequests {
					t.Errorf("%s: status %d: %s", link, status, body)
				}
				if status == 200 && !strings.HasPrefix(hdr.Get("Content-Type"), Format(f).ContentType()[:4]) {
					t.Errorf("%s: content type %q", link, hdr.Get("Content-Type"))
				}
			}()
		}
		wg.Wait()
	}
	status, hdr, _ = get(t, srv, "/api/queries/top_proposals?_format=csv")
	if status != 200 || !strings.Contains(hdr.Get("Content-Disposition"), "top_proposals.csv") {
		t.Errorf("csv download: %d %v", status, hdr)
	}
}

func runtimeGosched() { runtime.Gosched() }

// TestGuardedSettings checks the guarded instance's configuration directly,
// bypassing the statement checks: even a statement that slipped through
// could neither change the configuration, nor write, nor touch files.
func TestGuardedSettings(t *testing.T) {
	for _, m := range engineModes {
		t.Run(m.name, func(t *testing.T) { testGuardedSettings(t, m.opts...) })
	}
}

func testGuardedSettings(t *testing.T, opts ...Option) {
	e, _, path := openFixture(t, Limits{MemoryLimit: "300MB", Threads: 1}, opts...)
	s, release, err := e.acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx := context.Background()
	c, put, err := s.conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer put()
	for name, want := range map[string]string{
		"enable_external_access": "false", "lock_configuration": "true", "autoload_known_extensions": "false",
		"autoinstall_known_extensions": "false", "threads": "1", "max_temp_directory_size": "953.6 MiB", // 1GB
	} {
		var got string
		if err := c.QueryRowContext(ctx, "SELECT current_setting($1)::VARCHAR", name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	var mem string
	if err := c.QueryRowContext(ctx, "SELECT current_setting('memory_limit')::VARCHAR").Scan(&mem); err != nil || !strings.Contains(mem, "MiB") {
		t.Errorf("memory_limit = %q %v", mem, err)
	}
	// The views read the release's Parquet files, and only those.
	var n int64
	if err := c.QueryRowContext(ctx, "SELECT count(*) FROM proposals").Scan(&n); err != nil || n == 0 {
		t.Fatalf("view over the release's Parquet: %d %v", n, err)
	}
	dir := s.access.Dir
	filesBefore := releaseFiles(t, dir)
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "x.csv"), []byte("a\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel := func(p string) string { r, _ := filepath.Rel(dir, p); return r }
	for _, q := range []string{
		"SET enable_external_access = true",
		"SET lock_configuration = false",
		"RESET memory_limit",
		"SET allowed_paths = ['/etc/passwd']",
		"SET allowed_directories = ['/']",
		"SET file_search_path = '/etc'",
		"INSERT INTO data.proposals (source) VALUES ('x')",
		"CREATE TABLE data.x AS SELECT 1",
		"COPY (SELECT 1) TO '" + filepath.Join(t.TempDir(), "x.csv") + "'",
		"COPY (SELECT 1) TO '" + filepath.Join(dir, "new.csv") + "'",
		"COPY (SELECT 1) TO '" + filepath.Join(dir, "data", "proposals", "new.parquet") + "'",
		"COPY (SELECT 1) TO 'data/proposals/new.parquet'",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM read_csv('" + filepath.Join(other, "x.csv") + "')",
		"SELECT * FROM read_csv('" + rel(filepath.Join(other, "x.csv")) + "')",
		"SELECT * FROM read_csv('data/../../" + filepath.Base(other) + "/x.csv')",
		"SELECT * FROM read_parquet('data/**/*.parquet')",
		"SELECT * FROM read_parquet('" + filepath.Join(dir, "data", "*", "*.parquet") + "')",
		"SELECT * FROM read_parquet('/tmp/**/*.parquet')",
		"SELECT * FROM read_parquet('../**/*.parquet')",
		"SELECT * FROM read_parquet('data/*/../../../*/data/*/*.parquet')",
		"SELECT * FROM read_blob('capstat.duckdb')",
		"SELECT * FROM read_text('" + path + "')",
		"SELECT * FROM glob('*')",
		"SELECT * FROM glob('data/*')",
		"ATTACH '" + filepath.Join(t.TempDir(), "x.duckdb") + "' AS x",
		"INSTALL httpfs",
	} {
		if _, err := c.ExecContext(ctx, q); err == nil {
			t.Errorf("%q succeeded on the guarded connection", q)
		}
	}
	if s.loaded() {
		// Tables loaded from the views: no file may be read at all, not
		// even the release's own Parquet.
		var kind string
		if err := c.QueryRowContext(ctx, "SELECT table_type FROM information_schema.tables WHERE table_catalog = current_database() AND table_name = 'proposal_votes'").Scan(&kind); err != nil || kind != "BASE TABLE" {
			t.Errorf("proposal_votes is %q (%v), want a loaded table", kind, err)
		}
		for _, q := range []string{
			"SELECT * FROM read_parquet('data/proposals/proposals.parquet')",
			"SELECT * FROM read_parquet('" + filepath.Join(dir, "data", "proposals", "proposals.parquet") + "')",
		} {
			if _, err := c.ExecContext(ctx, q); err == nil {
				t.Errorf("%q succeeded on a connection to loaded tables", q)
			}
		}
	}
	// DuckDB 1.5 attaches a Parquet file it may read as an in-memory
	// catalog (like ATTACH ':memory:', which the statement checks refuse
	// anyway): what is written there never reaches the file.
	pq := filepath.Join(dir, "data", "proposals", "proposals.parquet")
	if _, err := c.ExecContext(ctx, "ATTACH '"+pq+"' AS y"); err == nil {
		c.ExecContext(ctx, "CREATE TABLE y.t AS SELECT 1")
		c.ExecContext(ctx, "CHECKPOINT y")
		c.ExecContext(ctx, "DETACH y")
	}
	if got := releaseFiles(t, dir); !slices.Equal(got, filesBefore) {
		t.Errorf("release files changed:\n%v\nwant\n%v", got, filesBefore)
	}
}

// releaseFiles lists the files of a release directory with their digests.
func releaseFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		out = append(out, fmt.Sprintf("%s %x", p, fileSum(t, p)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGuardedSymlinkInRelease: a symbolic link planted among a release's
// Parquet files (pointing outside) is not readable, even by a view.
func TestGuardedSymlinkInRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "capstat.duckdb")
	writeSnapshot(t, path, smallFixture())
	dir := filepath.Dir(path)
	outside := filepath.Join(t.TempDir(), "secret.parquet")
	target := filepath.Join(dir, "data", "projects", "projects.parquet")
	if err := os.Rename(target, outside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, target); err != nil {
		t.Fatal(err)
	}
	e, err := Open(context.Background(), path, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var out bytes.Buffer
	if err := e.SQL(context.Background(), "SELECT count(*) FROM projects", &out, FormatJSON); err == nil {
		t.Errorf("view read through a symlink out of the release: %s", out.String())
	}
	out.Reset()
	if err := e.SQL(context.Background(), "SELECT count(*) FROM proposals", &out, FormatJSON); err != nil {
		t.Errorf("other views must still work: %v", err)
	}
}

func TestReopenIfChanged(t *testing.T) {
	e, _, path := openFixture(t, Limits{})
	if changed, err := e.ReopenIfChanged(context.Background(), path); err != nil || changed {
		t.Fatalf("same path: changed=%v err=%v", changed, err)
	}
	other := filepath.Join(t.TempDir(), "capstat.duckdb")
	writeSnapshot(t, other, fixture{})
	if changed, err := e.ReopenIfChanged(context.Background(), other); err != nil || !changed {
		t.Fatalf("new path: changed=%v err=%v", changed, err)
	}
	if got := e.SnapshotPath(); !strings.HasSuffix(got, "capstat.duckdb") || got == path {
		t.Errorf("snapshot path %q", got)
	}
}

// TestReopenAfterEngineError: a snapshot flagged broken (DuckDB fatal or
// internal error) is replaced when its failing query releases it.
func TestReopenAfterEngineError(t *testing.T) {
	e, _, _ := openFixture(t, Limits{})
	s, release, err := e.acquire()
	if err != nil {
		t.Fatal(err)
	}
	s.broken.Store(true)
	release()
	// The reopen runs in the background.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		e.mu.Lock()
		replaced := e.cur != s
		e.mu.Unlock()
		if replaced {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("broken snapshot still current after 10 s")
		}
	}
	if err := e.SQL(context.Background(), "SELECT 1", &bytes.Buffer{}, FormatJSON); err != nil {
		t.Fatalf("query after reopen: %v", err)
	}
}
