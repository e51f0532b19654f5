package queries

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func postSQL(t *testing.T, srv *httptest.Server, sqlText, format string) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"sql": sqlText, "format": format})
	resp, err := http.Post(srv.URL+"/api/sql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("post %q: %v", sqlText, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func get(t *testing.T, srv *httptest.Server, path string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatalf("get %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestHostileInputs sends hostile SQL and parameters through the HTTP
// handler: each one gets a clear JSON refusal or a time-out, nothing is read
// from or written to the file system, the snapshot is unchanged, and a
// normal query still works after each of them.
func TestHostileInputs(t *testing.T) {
	for _, m := range engineModes {
		t.Run(m.name, func(t *testing.T) { testHostileInputs(t, m.opts...) })
	}
}

func testHostileInputs(t *testing.T, opts ...Option) {
	e, _, path := openFixture(t, Limits{Timeout: 1500 * time.Millisecond, MaxRows: 50, MaxExportRows: 1000, MemoryLimit: "256MB", MaxSQLBytes: 4096}, opts...)
	srv := httptest.NewServer(Handler(e, HandlerOptions{Logger: quietLogger()}))
	defer srv.Close()
	before := fileSum(t, path)
	out := t.TempDir()
	outFile := func(n string) string { return filepath.Join(out, n) }

	refused := []int{http.StatusBadRequest}
	heavy := []int{http.StatusRequestTimeout, http.StatusRequestEntityTooLarge, http.StatusBadRequest}
	cases := []struct {
		name   string
		sql    string
		status []int
		format string
	}{
		{"read_csv passwd", `SELECT * FROM read_csv('/etc/passwd')`, refused, ""},
		{"read_csv_auto passwd", `SELECT * FROM read_csv_auto('/etc/passwd', header=false)`, refused, ""},
		{"read_text passwd", `SELECT content FROM read_text('/etc/passwd')`, refused, ""},
		{"read_blob passwd", `SELECT content FROM read_blob('/etc/passwd')`, refused, ""},
		{"read_parquet", `SELECT * FROM read_parquet('/etc/passwd')`, refused, ""},
		{"read_json", `SELECT * FROM read_json('/etc/passwd')`, refused, ""},
		{"replacement scan", `SELECT * FROM '/etc/passwd'`, refused, ""},
		{"glob", `SELECT * FROM glob('/etc/*')`, refused, ""},
		{"list of files", `FROM read_csv(['/etc/passwd', '/etc/hostname'])`, refused, ""},
		{"sniff_csv", `SELECT * FROM sniff_csv('/etc/passwd')`, refused, ""},
		{"parquet_metadata", `SELECT * FROM parquet_metadata('/etc/passwd')`, refused, ""},
		{"union file read", `SELECT title FROM proposals UNION ALL SELECT content FROM read_text('/etc/passwd')`, refused, ""},
		{"subquery file read", `SELECT (SELECT content FROM read_text('/etc/passwd')) AS x`, refused, ""},
		{"describe file", `DESCRIBE SELECT * FROM read_csv('/etc/passwd')`, refused, ""},
		{"attach file", "ATTACH '" + outFile("x.duckdb") + "' AS x", refused, ""},
		{"attach memory", `ATTACH ':memory:' AS m`, refused, ""},
		{"detach", `DETACH snapshot`, refused, ""},
		{"use", `USE memory`, refused, ""},
		{"copy to", "COPY proposals TO '" + outFile("out.csv") + "'", refused, ""},
		{"copy query to", "COPY (SELECT 1) TO '" + outFile("out.parquet") + "' (FORMAT parquet)", refused, ""},
		{"export database", "EXPORT DATABASE '" + outFile("exp") + "'", refused, ""},
		{"install", `INSTALL httpfs`, refused, ""},
		{"load", `LOAD httpfs`, refused, ""},
		{"load path", "LOAD '" + outFile("evil.duckdb_extension") + "'", refused, ""},
		{"set external access", `SET enable_external_access = true`, refused, ""},
		{"set global", `SET GLOBAL memory_limit = '100GB'`, refused, ""},
		{"reset", `RESET enable_external_access`, refused, ""},
		{"unlock", `SET lock_configuration = false`, refused, ""},
		{"set variable", `SET VARIABLE x = 1`, refused, ""},
		{"two statements", `SELECT 1; DROP TABLE proposals`, refused, ""},
		{"comment hides second statement", "SELECT 1 /* ; */ ; DELETE FROM proposals", refused, ""},
		{"line comment then statement", "SELECT 1 -- harmless\n; ATTACH ':memory:' AS y", refused, ""},
		{"trailing select after comment", "/* SELECT */ DROP VIEW proposals", refused, ""},
		{"pragma", `PRAGMA database_list`, refused, ""},
		{"pragma version", `PRAGMA version`, refused, ""},
		{"call", `CALL pragma_database_list()`, refused, ""},
		{"checkpoint", `CHECKPOINT`, refused, ""},
		{"vacuum", `VACUUM`, refused, ""},
		{"begin", `BEGIN TRANSACTION`, refused, ""},
		{"prepare", `PREPARE p AS SELECT 1`, refused, ""},
		{"create table", `CREATE TABLE t AS SELECT 1`, refused, ""},
		{"create temp table", `CREATE TEMP TABLE t AS SELECT 1`, refused, ""},
		{"create macro", `CREATE MACRO m(x) AS x`, refused, ""},
		{"insert", `INSERT INTO proposals (source) VALUES ('x')`, refused, ""},
		{"update", `UPDATE proposals SET title = 'x'`, refused, ""},
		{"delete", `DELETE FROM proposals`, refused, ""},
		{"drop", `DROP VIEW proposals`, refused, ""},
		{"getenv", `SELECT getenv('HOME')`, refused, ""},
		{"current_setting", `SELECT current_setting('temp_directory')`, refused, ""},
		{"current_setting method", `SELECT 'temp_directory'.current_setting()`, refused, ""},
		{"current_setting qualified", `SELECT system.main.current_setting('temp_directory')`, refused, ""},
		{"explain current_setting", `EXPLAIN SELECT current_setting('temp_directory')`, refused, ""},
		{"duckdb_settings", `SELECT * FROM duckdb_settings()`, refused, ""},
		{"duckdb_databases", `SELECT path FROM duckdb_databases()`, refused, ""},
		{"pg_settings", `SELECT * FROM pg_catalog.pg_settings`, refused, ""},
		{"show databases", `SHOW DATABASES`, refused, ""},
		{"summarize settings", `SUMMARIZE SELECT * FROM duckdb_settings()`, refused, ""},
		{"query()", `SELECT * FROM query('SELECT 42')`, refused, ""},
		{"json_execute_serialized_sql", `SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))`, refused, ""},
		{"arrow_scan raw pointer", `SELECT * FROM arrow_scan(1, 2, 3)`, refused, ""},
		{"histogram macro", `SELECT * FROM histogram('duckdb_settings()', name)`, refused, ""},
		{"test_all_types", `SELECT * FROM test_all_types()`, refused, ""},
		{"read_duckdb", `SELECT * FROM read_duckdb('/etc/passwd')`, refused, ""},
		{"seq_scan", `SELECT * FROM seq_scan()`, refused, ""},
		{"lateral table function", `SELECT * FROM proposals, LATERAL read_text(proposals.url)`, refused, ""},
		{"fullwidth semicolon", "SELECT 1\uff1b DROP TABLE proposals", refused, ""},
		{"fullwidth letters", "\uff33\uff25\uff2c\uff25\uff23\uff34 1", refused, ""},
		{"zero width space", "SELECT 1\u200b; DROP TABLE proposals", refused, ""},
		{"rtl override", "SELECT '\u202e' ; DROP TABLE proposals", refused, ""},
		{"nul byte", "SELECT 1\x00; DROP TABLE proposals", refused, ""},
		{"empty", "   ", refused, ""},
		{"only a comment", "-- nothing", refused, ""},
		{"too large", "SELECT '" + strings.Repeat("x", 5000) + "'", []int{http.StatusRequestEntityTooLarge}, ""},
		{"huge cross join", `SELECT count(*) FROM proposal_votes a, proposal_votes b, proposal_votes c, proposal_votes d`, heavy, ""},
		{"range 1e12 count", `SELECT sum(range) FROM range(1000000000000)`, heavy, ""},
		{"endless recursion", `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r`, heavy, ""},
		{"giant string repeat", `SELECT repeat('x', 10000000000)`, refused, ""},
		{"per-row giant strings", `SELECT max(length(repeat('x', 100000000 + i))) FROM range(1000) t(i)`, refused, ""},
		{"per-row giant lists", `SELECT max(len(range(100000000 + i))) FROM range(1000) t(i)`, refused, ""},
		{"lpad amplifier", `SELECT max(length(lpad('x', 100000000 + i, 'y'))) FROM range(1000) t(i)`, refused, ""},
		{"printf amplifier", `SELECT printf('%0100000000d', 1)`, refused, ""},
		{"list_resize amplifier", `SELECT list_resize([1], 1000000000)`, refused, ""},
		{"table function argument checked", `SELECT * FROM range(length(current_setting('threads')))`, refused, ""},
		{"giant string agg", `SELECT length(string_agg(repeat('x', 100000), '')) FROM range(100000)`, heavy, ""},
		{"range 1e12 csv", `SELECT * FROM range(1000000000000)`, []int{http.StatusRequestEntityTooLarge, http.StatusRequestTimeout}, "csv"},
		{"relative escape", `SELECT * FROM read_parquet('../../etc/passwd')`, refused, ""},
		{"relative escape in data", `SELECT * FROM read_parquet('data/../../other/x.parquet')`, refused, ""},
		{"absolute parquet elsewhere", "SELECT * FROM read_parquet('" + outFile("x.parquet") + "')", refused, ""},
		{"glob outside", `SELECT * FROM read_parquet('../**/*.parquet')`, refused, ""},
		{"glob of the release", `SELECT * FROM read_parquet('data/**/*.parquet')`, refused, ""},
		{"release file by relative path", `SELECT * FROM read_parquet('data/proposals/proposals.parquet')`, refused, ""},
		{"release csv by replacement scan", `SELECT * FROM 'csv/proposals.csv'`, refused, ""},
		{"release manifest", `SELECT * FROM read_json('manifest.json')`, refused, ""},
		{"replacement scan of a release file", `SELECT * FROM 'data/proposals/proposals.parquet'`, refused, ""},
		{"replacement scan escape", `SELECT * FROM '../../../etc/passwd'`, refused, ""},
		{"attach release parquet", `ATTACH 'data/proposals/proposals.parquet' AS y`, refused, ""},
		{"copy over a release file", `COPY (SELECT 1) TO 'data/proposals/proposals.parquet' (FORMAT parquet)`, refused, ""},
		{"set file_search_path", `SET file_search_path = '/etc'`, refused, ""},
		{"set allowed_paths", `SET allowed_paths = ['/etc/passwd']`, refused, ""},
		{"set allowed_directories", `SET allowed_directories = ['/']`, refused, ""},
		{"parquet ad hoc", `SELECT 1`, refused, "parquet"},
		{"unknown format", `SELECT 1`, refused, "xlsx"},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d hostile inputs", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postSQL(t, srv, tc.sql, tc.format)
			ok := false
			for _, s := range tc.status {
				ok = ok || s == status
			}
			if !ok {
				t.Errorf("status %d, want one of %v; body %s", status, tc.status, body)
			}
			var ae apiError
			if err := json.Unmarshal(body, &ae); err != nil || ae.Error.Code == "" || ae.Error.Message == "" {
				t.Errorf("not a clear JSON error: %s", body)
			}
			if bytes.Contains(body, []byte("root:x:0:0")) {
				t.Fatalf("file content leaked: %s", body)
			}
			// The server stays up and still answers.
			status, body = postSQL(t, srv, `SELECT count(*) AS n FROM proposals`, "json")
			if status != http.StatusOK || !bytes.Contains(body, []byte(`"n"`)) {
				t.Fatalf("follow-up query: status %d body %s", status, body)
			}
		})
	}
	// Hostile parameters of canned queries are bound, never interpolated.
	paramCases := []struct {
		path   string
		status int
		rows   int
	}{
		{"/api/queries/top_proposals?project=" + url.QueryEscape("'; DROP TABLE proposals; --"), 200, 0},
		{"/api/queries/top_proposals?project=" + url.QueryEscape("x' OR '1'='1"), 200, 0},
		{"/api/queries/top_proposals?source=" + url.QueryEscape("landes\"); ATTACH ':memory:' AS m; --"), 200, 0},
		{"/api/queries/top_proposals?limit=" + url.QueryEscape("1; DROP TABLE proposals"), 400, -1},
		{"/api/queries/top_proposals?limit=1e99", 400, -1},
		{"/api/queries/top_proposals?include_trashed=" + url.QueryEscape("true OR 1=1"), 400, -1},
		{"/api/queries/top_proposals?evil=1", 400, -1},
		{"/api/queries/top_proposals?limit=1&limit=2", 400, -1},
		{"/api/queries/participation_daily_range?project=x&from=" + url.QueryEscape("2024-01-01'::DATE; --"), 400, -1},
		{"/api/queries/votes_by_hour", 400, -1},
		{"/api/queries/" + url.PathEscape("../../etc/passwd"), 404, -1},
		{"/api/queries/nope", 404, -1},
		{"/api/queries/top_proposals?_format=xlsx", 400, -1},
	}
	for _, pc := range paramCases {
		status, _, body := get(t, srv, pc.path)
		if status != pc.status {
			t.Errorf("%s: status %d, want %d: %s", pc.path, status, pc.status, body)
			continue
		}
		if pc.rows >= 0 {
			r := decodeResult(t, body)
			if len(r.Rows) != pc.rows {
				t.Errorf("%s: %d rows, want %d", pc.path, len(r.Rows), pc.rows)
			}
		} else {
			var ae apiError
			if err := json.Unmarshal(body, &ae); err != nil || ae.Error.Code == "" {
				t.Errorf("%s: not a clear JSON error: %s", pc.path, body)
			}
		}
	}
	// Nothing was written, the snapshot is intact, and everything still works.
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("files were written: %v", entries)
	}
	if fileSum(t, path) != before {
		t.Error("snapshot file changed")
	}
	status, _, body := get(t, srv, "/api/queries/top_proposals?limit=3")
	if status != 200 || len(decodeResult(t, body).Rows) != 3 {
		t.Fatalf("canned query after hostile inputs: %d %s", status, body)
	}
	status, body = postSQL(t, srv, `SELECT count(*) AS n FROM proposals`, "json")
	if status != 200 {
		t.Fatalf("ad-hoc after hostile inputs: %d %s", status, body)
	}
}

// TestAllowedAdHoc checks what journalists may do.
func TestAllowedAdHoc(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{MaxRows: 5})
	srv := httptest.NewServer(Handler(e, HandlerOptions{Logger: quietLogger()}))
	defer srv.Close()
	for _, q := range []string{
		`SELECT count(*) FROM proposals`,
		`WITH x AS (SELECT source, count(*) AS n FROM proposals GROUP BY source) SELECT * FROM x ORDER BY source`,
		`FROM projects SELECT title`,
		`SELECT * FROM snapshot.main.proposals LIMIT 1`,
		`DESCRIBE proposals`,
		`SHOW TABLES`,
		`SUMMARIZE proposal_votes`,
		`EXPLAIN SELECT * FROM proposals WHERE votes_count > 3`,
		`/* a comment */ EXPLAIN ANALYZE SELECT count(*) FROM proposals`,
		`SELECT table_name, column_name FROM information_schema.columns WHERE table_name = 'proposals'`,
		`SELECT * FROM release_info`,
		`VALUES (1, 'a'), (2, 'b')`,
		`SELECT * FROM range(3), generate_series(1, 2), unnest([1, 2])`,
		`SELECT * FROM json_each('{"a": 1}')`,
		`SELECT list(title) AS titles, {'a': 1} AS s, INTERVAL 3 DAY AS i, 1.5::DECIMAL(10,2) AS d, 12345678901234567890::HUGEINT AS h FROM proposals`,
	} {
		status, body := postSQL(t, srv, q, "json")
		if status != 200 {
			t.Errorf("%q: status %d: %s", q, status, body)
		}
	}
	// Row limit on JSON: says it truncated.
	status, body := postSQL(t, srv, `SELECT proposal_id FROM proposals ORDER BY proposal_id`, "json")
	r := decodeResult(t, body)
	if status != 200 || !r.Truncated || r.RowLimit != 5 || len(r.Rows) != 5 || r.RowCount != 5 {
		t.Errorf("truncation: status %d truncated=%v limit=%d rows=%d", status, r.Truncated, r.RowLimit, len(r.Rows))
	}
	status, body = postSQL(t, srv, `SELECT proposal_id FROM proposals ORDER BY proposal_id LIMIT 5`, "json")
	if r := decodeResult(t, body); status != 200 || r.Truncated || len(r.Rows) != 5 {
		t.Errorf("exactly the limit must not be flagged truncated: %+v", r)
	}
	// Plain queries run under LIMIT row_limit+1: a result that would need
	// 100 GB if materialised whole still answers, in order.
	status, body = postSQL(t, srv, `SELECT concat_ws('', a, a, a) AS big FROM range(100000), (SELECT string_agg('x', '') AS a FROM range(300000))`, "json")
	if r := decodeResult(t, body); status != 200 || !r.Truncated || len(r.Rows) != 5 {
		t.Errorf("limited big result: %d %.200s", status, body)
	}
	status, body = postSQL(t, srv, `SELECT 1 AS a, 2 AS a`, "json")
	if r := decodeResult(t, body); status != 200 || r.Columns[1].Name != "a_1" {
		t.Errorf("wrapped query columns: %s", body)
	}
	props := append([]row(nil), fx["proposals"]...)
	sort.Slice(props, func(i, j int) bool {
		if i64(props[i], "votes_count") != i64(props[j], "votes_count") {
			return i64(props[i], "votes_count") > i64(props[j], "votes_count")
		}
		return s(props[i], "proposal_id") < s(props[j], "proposal_id")
	})
	status, body = postSQL(t, srv, `-- top
		SELECT proposal_id FROM proposals ORDER BY votes_count DESC, proposal_id; -- done`, "json")
	r = decodeResult(t, body)
	if status != 200 || len(r.Rows) != 5 {
		t.Fatalf("ordered: %d %s", status, body)
	}
	for i := range 5 {
		if r.Rows[i][0] != s(props[i], "proposal_id") {
			t.Errorf("ordered row %d = %v, want %s", i, r.Rows[i][0], s(props[i], "proposal_id"))
		}
	}
	// Extractions are in Paris time (winter: UTC+1, summer: UTC+2).
	status, body = postSQL(t, srv, `SELECT hour(TIMESTAMPTZ '2024-03-15 12:00:00+00') AS winter, hour(TIMESTAMPTZ '2024-07-15 12:00:00+00') AS summer, (TIMESTAMPTZ '2024-03-15 23:30:00+00')::DATE AS day`, "json")
	if r := decodeResult(t, body); status != 200 || !cellEqual(r.Rows[0][0], 13) || !cellEqual(r.Rows[0][1], 14) || !cellEqual(r.Rows[0][2], "2024-03-16") {
		t.Errorf("time zone: %s", body)
	}
	// Hostile titles come back intact (escaped by the JSON encoder).
	status, body = postSQL(t, srv, `SELECT title FROM proposals WHERE title LIKE '<img%' LIMIT 1`, "json")
	if status != 200 || bytes.Contains(body, []byte("<img")) || decodeResult(t, body).Rows[0][0] != hostileTitle {
		t.Errorf("hostile title: %s", body)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestEngineRefusesInvalidUTF8 calls the engine directly: over HTTP the JSON
// decoder already replaces invalid bytes.
func TestEngineRefusesInvalidUTF8(t *testing.T) {
	e, _, _ := openFixture(t, Limits{})
	err := e.SQL(t.Context(), "SELECT '\xff\xfe'", io.Discard, FormatJSON)
	if AsError(err).Code != CodeRefused {
		t.Fatalf("err = %v, want refused", err)
	}
}
