package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/sandbox"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// capstatBinary builds the real binary once per test run.
func capstatBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "capstat-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "capstat")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// demoTree starts a sandbox over real HTTP and writes, in a fresh
// directory, the configuration 'capstat sandbox --write-config' writes.
func demoTree(t *testing.T, opts sandbox.Options) (dir, apiURL string, world *sandbox.World) {
	t.Helper()
	srv, err := sandbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	dir = t.TempDir()
	if err := writeSandboxConfig(filepath.Join(dir, "capstat.yaml"), hs.URL, srv.World()); err != nil {
		t.Fatal(err)
	}
	return dir, hs.URL, srv.World()
}

// capstat runs the binary in dir and returns its standard output.
func capstat(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(capstatBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CAPSTAT_CONFIG=capstat.yaml")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("capstat %s: %v\nstderr:\n%s", strings.Join(args, " "), err, tail(stderr.String(), 3000))
	}
	return stdout.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestPipelineEndToEnd runs 'capstat run' twice against the sandbox and
// checks the release: checksums, privacy, idempotence.
func TestPipelineEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped in -short mode")
	}
	dir, apiURL, world := demoTree(t, sandbox.Options{Seed: 7, Scale: sandbox.Tiny})
	capstat(t, dir, "run")

	latest := filepath.Join(dir, "public", "latest")
	var manifest struct {
		ReleaseID string `json:"release_id"`
		Files     []struct {
			Path   string `json:"path"`
			Bytes  int64  `json:"bytes"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	readJSON(t, filepath.Join(latest, "manifest.json"), &manifest)
	if len(manifest.Files) < 16 {
		t.Fatalf("manifest lists %d files, want every dataset", len(manifest.Files))
	}
	for _, f := range manifest.Files {
		b, err := os.ReadFile(filepath.Join(latest, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(b)) != f.Bytes {
			t.Errorf("%s: checksum or size does not match the manifest", f.Path)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "public", "site", "index.html")); err != nil {
		t.Errorf("dashboards not rendered: %v", err)
	}

	t.Run("privacy", func(t *testing.T) { checkNoIdentity(t, filepath.Join(dir, "public"), world) })
	t.Run("budget figures", func(t *testing.T) { checkBudgetFigures(t, latest) })

	// A second run over unchanged data changes nothing.
	out := capstat(t, dir, "run")
	if !strings.Contains(out, "total: 0 changed") {
		t.Errorf("second ingest changed rows:\n%s", out)
	}
	var changes struct {
		PreviousReleaseID string `json:"previous_release_id"`
		Datasets          map[string]struct{ Added, Updated, Removed int }
	}
	readJSON(t, filepath.Join(latest, "changes.json"), &changes)
	if changes.PreviousReleaseID != manifest.ReleaseID {
		t.Errorf("previous release = %q, want %q", changes.PreviousReleaseID, manifest.ReleaseID)
	}
	for name, c := range changes.Datasets {
		if c.Added+c.Updated+c.Removed != 0 {
			t.Errorf("dataset %s changed on a rerun over unchanged data: %+v", name, c)
		}
	}

	// What make demo leaves for the README's examples: its config and the
	// sandbox's admin vote exports.
	cfg, err := os.ReadFile(filepath.Join(dir, "capstat.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "var", "capstat.demo.yaml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSandboxVoteExports(filepath.Join(dir, "var", "vote-exports"), world); err != nil {
		t.Fatal(err)
	}
	t.Run("readme", func(t *testing.T) { runReadmeExamples(t, dir, exampleHosts{sandbox: apiURL}) })
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// checkNoIdentity looks for the sandbox's usernames and raw user ids in
// every published file: text files byte for byte, Parquet and the DuckDB
// snapshot through DuckDB (their strings are compressed on disk).
func checkNoIdentity(t *testing.T, public string, world *sandbox.World) {
	var needles []string
	for _, in := range world.Instances {
		for _, u := range in.Users {
			if len(u.Username) >= 6 {
				needles = append(needles, u.Username)
			}
			needles = append(needles, u.ID, u.UUID)
		}
	}
	if len(needles) == 0 {
		t.Fatal("the sandbox has no users")
	}
	find := func(where, text string) {
		for _, n := range needles {
			if n != "" && strings.Contains(text, n) {
				t.Errorf("%s publishes the identity %q", where, n)
				return
			}
		}
	}
	db, err := duckdbx.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dump := func(query string) string {
		rows, err := db.Query(query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var sb strings.Builder
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				fmt.Fprintf(&sb, "%v\x00", v)
			}
		}
		return sb.String()
	}
	checked := 0
	err = filepath.WalkDir(public, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return err // latest is a symlink to a release walked anyway
		}
		rel, _ := filepath.Rel(public, path)
		switch {
		case strings.HasSuffix(path, ".parquet"):
			find(rel, dump(fmt.Sprintf("SELECT * FROM read_parquet('%s')", path)))
		case strings.HasSuffix(path, ".duckdb"):
			if _, err := db.Exec(fmt.Sprintf("ATTACH '%s' AS snap%d (READ_ONLY)", path, checked)); err != nil {
				t.Fatal(err)
			}
			for _, tbl := range strings.FieldsFunc(dump(fmt.Sprintf(
				"SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = 'snap%d'", checked)), func(r rune) bool { return r == 0 }) {
				find(rel+":"+tbl, dump(fmt.Sprintf("SELECT * FROM snap%d.%s", checked, tbl)))
			}
		default:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			find(rel, string(b))
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Errorf("only %d published files checked", checked)
	}
}

// freeAddr returns a free loopback address.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// waitFor polls cond every 200 ms until it holds or the bound passes.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", bound, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkBudgetFigures fails when a release of the sandbox world, whose
// proposal forms carry costs, publishes none: every collectivity with a
// budget comparison has proposals with an estimated cost and a total.
func checkBudgetFigures(t *testing.T, release string) {
	t.Helper()
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`
		SELECT b.source, count(*) FILTER (WHERE b.estimated_cost_total_eur IS NOT NULL),
		       (SELECT count(*) FROM read_parquet(%s) p WHERE p.source = b.source AND p.estimated_cost_eur IS NOT NULL)
		FROM read_parquet(%s) b GROUP BY b.source ORDER BY b.source`,
		duckdbx.Quote(filepath.Join(release, "data", "proposals", "*.parquet")),
		duckdbx.Quote(filepath.Join(release, "data", "budget_comparison", "*.parquet"))))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var source string
		var totals, costs int64
		if err := rows.Scan(&source, &totals, &costs); err != nil {
			t.Fatal(err)
		}
		n++
		if totals == 0 || costs == 0 {
			t.Errorf("%s: %d budget rows with a cost total, %d proposals with an estimated cost; want some of each", source, totals, costs)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("budget_comparison is empty")
	}
}
