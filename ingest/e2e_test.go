package ingest_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/capstat/capstat/ingest"
	"github.com/capstat/capstat/ingest/rawstore"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/sandbox"
)

const seed = 42

func startSandbox(t testing.TB, opts sandbox.Options) *httptest.Server {
	t.Helper()
	srv, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func sourcesFor(base string, names []string) []ingest.Source {
	var out []ingest.Source
	for _, n := range names {
		out = append(out, ingest.Source{
			Name:      n,
			Endpoint:  base + "/" + n + "/graphql",
			Timezone:  "Europe/Paris",
			RetryBase: 5 * time.Millisecond,
			RetryMax:  50 * time.Millisecond,
			// FailRate 0.1 over thousands of requests: allow long streaks.
			MaxAttempts: 12,
		})
	}
	return out
}

func instanceNames(truth map[string]sandbox.Counts) []string {
	var names []string
	for n := range truth {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := duckdbx.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// liveCounts counts the alive rows per source and table.
func liveCounts(t testing.TB, db *sql.DB) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	for _, tbl := range rawstore.EntityTables() {
		rs, err := db.Query(`SELECT source, count(*) FROM raw.` + tbl + ` WHERE deleted_run IS NULL GROUP BY source`)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var src string
			var n int
			if err := rs.Scan(&src, &n); err != nil {
				t.Fatal(err)
			}
			if out[src] == nil {
				out[src] = map[string]int{}
			}
			out[src][tbl] = n
		}
		rs.Close()
	}
	return out
}

// tablesHash hashes every raw entity table without its run columns.
func tablesHash(t testing.TB, db *sql.DB) map[string]string {
	return tablesHashWhere(t, db, "true")
}

// liveTablesHash hashes the live rows (deleted_run IS NULL) of every raw
// entity table without their run columns: what a database refreshed many
// times shares with a fresh crawl.
func liveTablesHash(t testing.TB, db *sql.DB) map[string]string {
	return tablesHashWhere(t, db, "deleted_run IS NULL")
}

func tablesHashWhere(t testing.TB, db *sql.DB, where string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tbl := range rawstore.EntityTables() {
		rs, err := db.Query(`SELECT * EXCLUDE (first_seen_run, last_seen_run, deleted_run) FROM raw.` + tbl + ` WHERE ` + where + ` ORDER BY source, id`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		var b strings.Builder
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		for rs.Next() {
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%v\x1e", vals)
			n++
		}
		rs.Close()
		var h string
		if err := db.QueryRow(`SELECT md5(?)`, b.String()).Scan(&h); err != nil {
			t.Fatal(err)
		}
		out[tbl] = fmt.Sprintf("%d:%s", n, h)
	}
	return out
}

func checkCounts(t *testing.T, db *sql.DB, truth map[string]sandbox.Counts) {
	t.Helper()
	checkUnique(t, db)
	got := liveCounts(t, db)
	for src, want := range truth {
		for entity, n := range want {
			if got[src][entity] != n {
				t.Errorf("%s.%s: %d rows, ground truth %d", src, entity, got[src][entity], n)
			}
		}
	}
}

// sizeBytes parses a size as DuckDB shows it ("18.8 GiB", "61.0 MiB").
func sizeBytes(t *testing.T, s string) float64 {
	t.Helper()
	var v float64
	var unit string
	if _, err := fmt.Sscanf(s, "%g %s", &v, &unit); err != nil {
		t.Fatalf("size %q: %v", s, err)
	}
	mult := map[string]float64{"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[unit]
	if mult == 0 {
		t.Fatalf("size %q: unknown unit", s)
	}
	return v * mult
}

func TestE2ETiny(t *testing.T) {
	ctx := context.Background()
	scale, _ := sandbox.ParseScale("tiny")
	truth := sandbox.GroundTruth(seed, scale)
	ts := startSandbox(t, sandbox.Options{Seed: seed, Scale: scale})
	db := openDB(t, filepath.Join(t.TempDir(), "capstat.duckdb"))
	srcs := sourcesFor(ts.URL, instanceNames(truth))

	// A bad memory limit is refused before anything is written.
	if _, err := ingest.Ingest(ctx, db, srcs, ingest.Options{MemoryLimit: "lots"}); err == nil || !strings.Contains(err.Error(), `memory_limit "lots"`) {
		t.Fatalf("ingest with a bad memory limit: %v", err)
	}
	var limit string
	if err := db.QueryRow(`SELECT current_setting('memory_limit')`).Scan(&limit); err != nil {
		t.Fatal(err)
	}
	rep, err := ingest.Ingest(ctx, db, srcs, ingest.Options{})
	if err != nil {
		t.Fatalf("ingest: %v\n%s", err, rep)
	}
	t.Logf("first run:\n%s", rep)
	// The crawl's memory settings are the database's own again (to the
	// rounding of the value DuckDB shows).
	var after string
	if err := db.QueryRow(`SELECT current_setting('memory_limit')`).Scan(&after); err != nil || math.Abs(sizeBytes(t, after)/sizeBytes(t, limit)-1) > 0.01 {
		t.Errorf("memory_limit after the crawl = %q, %v; want %q", after, err, limit)
	}
	checkCounts(t, db, truth)
	first := tablesHash(t, db)
	checkAudit(t, db)
	logErrors(t, db)

	// A second run over unchanged data changes nothing.
	rep, err = ingest.Ingest(ctx, db, srcs, ingest.Options{})
	if err != nil {
		t.Fatalf("second ingest: %v", err)
	}
	if rep.Changed() != 0 {
		t.Errorf("second run changed %d rows:\n%s", rep.Changed(), rep)
	}
	if !strings.Contains(rep.String(), "no change") {
		t.Errorf("summary does not say nothing changed:\n%s", rep)
	}
	if second := tablesHash(t, db); fmt.Sprint(second) != fmt.Sprint(first) {
		t.Errorf("tables differ after an idempotent run:\n%v\n%v", first, second)
	}
	var runs, complete int
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (status = 'complete') FROM raw.ingest_runs`).Scan(&runs, &complete); err != nil {
		t.Fatal(err)
	}
	if runs != 2*len(srcs) || complete != runs {
		t.Errorf("ingest_runs: %d rows, %d complete; want %d complete", runs, complete, 2*len(srcs))
	}
	checkStrings(t, db, scale)
}

// checkAudit: every finished connection delivered its totalCount.
func checkAudit(t *testing.T, db *sql.DB) {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM raw.ingest_audit`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("ingest_audit: %d rows, %v", n, err)
	}
	rs, err := db.Query(`SELECT source, entity, scope_id, fetched, total_count FROM raw.ingest_audit WHERE fetched <> total_count LIMIT 5`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var src, e, scope string
		var f, tc int64
		_ = rs.Scan(&src, &e, &scope, &f, &tc)
		t.Errorf("audit %s %s %s: fetched %d, totalCount %d", src, e, scope, f, tc)
	}
}

// checkStrings compares stored titles with the generator's, byte for byte
// (the sandbox data holds accents, emojis, newlines, quotes and <script>).
func checkStrings(t *testing.T, db *sql.DB, scale sandbox.Scale) {
	t.Helper()
	world := sandbox.Generate(seed, scale)
	checked, hostile := 0, 0
	for _, in := range world.Instances {
		want := map[string]string{}
		for _, p := range in.Proposals {
			if p.Visible() {
				want[p.ID] = p.Title
			}
		}
		rs, err := db.Query(`SELECT id, payload->>'title' FROM raw.proposals WHERE source = ?`, in.Name)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var id, title string
			if err := rs.Scan(&id, &title); err != nil {
				t.Fatal(err)
			}
			if w, ok := want[id]; ok {
				checked++
				if strings.ContainsAny(w, "<\"\n'é😊") {
					hostile++
				}
				if w != title {
					t.Errorf("%s proposal %s title %q, want %q", in.Name, id, title, w)
				}
			}
		}
		rs.Close()
	}
	if checked == 0 || hostile == 0 {
		t.Errorf("checked %d titles, %d with odd characters", checked, hostile)
	}
}

func TestE2EFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	ctx := context.Background()
	scale, _ := sandbox.ParseScale("tiny")
	truth := sandbox.GroundTruth(seed, scale)
	names := instanceNames(truth)[:3]
	clean := startSandbox(t, sandbox.Options{Seed: seed, Scale: scale})
	faulty := startSandbox(t, sandbox.Options{Seed: seed, Scale: scale, FailRate: 0.1})

	db1 := openDB(t, filepath.Join(t.TempDir(), "clean.duckdb"))
	if _, err := ingest.Ingest(ctx, db1, sourcesFor(clean.URL, names), ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	db2 := openDB(t, filepath.Join(t.TempDir(), "faulty.duckdb"))
	rep, err := ingest.Ingest(ctx, db2, sourcesFor(faulty.URL, names), ingest.Options{})
	if err != nil {
		t.Fatalf("ingest with faults: %v\n%s", err, rep)
	}
	var retries int64
	for _, s := range rep.Sources {
		retries += s.Retries
	}
	if retries == 0 {
		t.Errorf("no retry with FailRate 0.1:\n%s", rep)
	}
	checkUnique(t, db2)
	h1, h2 := tablesHash(t, db1), tablesHash(t, db2)
	for tbl, h := range h1 {
		if h2[tbl] != h {
			t.Errorf("raw.%s differs with faults: %s vs %s", tbl, h, h2[tbl])
		}
	}
	var recorded int64
	if err := db2.QueryRow(`SELECT sum(retries) FROM raw.ingest_runs`).Scan(&recorded); err != nil || recorded != retries {
		t.Errorf("ingest_runs.retries = %d (%v), report %d", recorded, err, retries)
	}
}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// logErrors shows the recorded partial errors, grouped.
func logErrors(t *testing.T, db *sql.DB) {
	t.Helper()
	rs, err := db.Query(`SELECT split_part(operation, '/', 1), regexp_replace(path, '[0-9]+', 'N', 'g'), message, count(*)
FROM raw.ingest_errors GROUP BY ALL ORDER BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var op, path, msg string
		var n int
		if err := rs.Scan(&op, &path, &msg, &n); err != nil {
			t.Fatal(err)
		}
		t.Logf("partial errors: %s %s %q ×%d", op, path, msg, n)
	}
}

func TestE2ESmall(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	ctx := context.Background()
	scale, _ := sandbox.ParseScale("small")
	truth := sandbox.GroundTruth(seed, scale)
	ts := startSandbox(t, sandbox.Options{Seed: seed, Scale: scale})
	db := openDB(t, filepath.Join(t.TempDir(), "capstat.duckdb"))
	rep, err := ingest.Ingest(ctx, db, sourcesFor(ts.URL, instanceNames(truth)), ingest.Options{})
	if err != nil {
		t.Fatalf("ingest: %v\n%s", err, rep)
	}
	checkCounts(t, db, truth)
	checkAudit(t, db)
	var reqs int64
	for _, s := range rep.Sources {
		reqs += s.Requests
	}
	t.Logf("small: %d requests in %s", reqs, rep.Duration)
}

// TestE2ETokenCosts: with a token the proposals carry the cost fields.
func TestE2ETokenCosts(t *testing.T) {
	ctx := context.Background()
	scale, _ := sandbox.ParseScale("tiny")
	ts := startSandbox(t, sandbox.Options{Seed: seed, Scale: scale, Token: "t0k"})
	db := openDB(t, filepath.Join(t.TempDir(), "capstat.duckdb"))
	srcs := sourcesFor(ts.URL, []string{"gironde"})
	srcs[0].Token = "t0k"
	rep, err := ingest.Ingest(ctx, db, srcs, ingest.Options{})
	if err != nil {
		t.Fatalf("ingest: %v\n%s", err, rep)
	}
	// Latest activity: the newest createdAt, read in the source's zone.
	var newest string
	err = db.QueryRow(`SELECT max(c) FROM (SELECT payload->>'createdAt' AS c FROM raw.proposals
		UNION ALL SELECT payload->>'createdAt' FROM raw.proposal_votes UNION ALL SELECT payload->>'createdAt' FROM raw.replies)`).Scan(&newest)
	if err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	want, _ := time.ParseInLocation("2006-01-02 15:04:05", newest, paris)
	if got := rep.Sources[0].LatestActivity; !got.Equal(want) {
		t.Errorf("LatestActivity = %v, want %v (%s in Europe/Paris)", got, want, newest)
	}
	var n, costs int
	err = db.QueryRow(`SELECT count(*), count(*) FILTER (json_extract_string(payload, '$.decision.estimatedCost') IS NOT NULL
		OR json_extract_string(payload, '$.assessment.estimatedCost') IS NOT NULL) FROM raw.proposals`).Scan(&n, &costs)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || costs == 0 {
		t.Errorf("%d proposals, %d with a cost", n, costs)
	}
	// A participant's token (no right to the costs): the first refusals
	// switch the crawl to the queries without costs, with one note.
	ts2 := startSandbox(t, sandbox.Options{Seed: seed, Scale: scale, Token: "t0k", UserToken: "u5er"})
	db2 := openDB(t, filepath.Join(t.TempDir(), "capstat.duckdb"))
	srcs2 := sourcesFor(ts2.URL, []string{"gironde"})
	srcs2[0].Token, srcs2[0].PageSize, srcs2[0].Concurrency = "u5er", 2, 1
	if rep, err := ingest.Ingest(ctx, db2, srcs2, ingest.Options{}); err != nil || !rep.Sources[0].Complete {
		t.Fatalf("ingest with a participant's token: %v\n%s", err, rep)
	}
	var n2, costs2, notes, denied int
	if err := db2.QueryRow(`SELECT count(*), count(*) FILTER (json_extract_string(payload, '$.decision.estimatedCost') IS NOT NULL OR json_extract_string(payload, '$.assessment.estimatedCost') IS NOT NULL) FROM raw.proposals`).Scan(&n2, &costs2); err != nil {
		t.Fatal(err)
	}
	if err := db2.QueryRow(`SELECT count(*) FILTER (message LIKE 'note: the token may not read proposal costs%'), count(*) FILTER (message LIKE 'Access denied%') FROM raw.ingest_errors`).Scan(&notes, &denied); err != nil {
		t.Fatal(err)
	}
	// One request at a time, 2 proposals a page, 3 refused fields each:
	// only the first page is refused.
	if n2 != n || costs2 != 0 || notes != 1 || denied != 6 {
		t.Errorf("participant's token: %d proposals (want %d), %d with a cost, %d notes (want 1), %d refusals recorded (want 6: one page)", n2, n, costs2, notes, denied)
	}
	// A wrong token is refused with a clear error.
	srcs[0].Token = "wrong"
	_, err = ingest.Ingest(ctx, db, srcs, ingest.Options{})
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "gironde") {
		t.Errorf("wrong token: %v", err)
	}
}

// checkUnique: (source, id) is unique in every entity table.
func checkUnique(t *testing.T, db *sql.DB) {
	t.Helper()
	for _, tbl := range rawstore.EntityTables() {
		var n, distinct int
		if err := db.QueryRow(`SELECT count(*), count(DISTINCT (source, id)) FROM raw.`+tbl).Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != distinct {
			t.Errorf("raw.%s: %d rows for %d keys", tbl, n, distinct)
		}
	}
}
