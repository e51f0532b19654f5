package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/capstat/capstat/sandbox"
)

// daemon is one 'capstat serve' process of a test.
type daemonProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	done chan error
	base string // http://addr
	log  string // its log file
}

// startDaemon runs 'capstat serve --addr ADDR ARGS…' in dir with
// CAPSTAT_CONFIG=capstat.yaml, its output in dir/logName.
func startDaemon(t *testing.T, dir, addr, logName string, args ...string) *daemonProc {
	t.Helper()
	cmd := exec.Command(capstatBinary(t), append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CAPSTAT_CONFIG=capstat.yaml", "CAPSTAT_ADMIN_TOKEN=test-admin-token")
	d := &daemonProc{t: t, cmd: cmd, done: make(chan error, 1), base: "http://" + addr, log: filepath.Join(dir, logName)}
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return d
}

// status is the HTTP status of GET path (0 when the daemon does not answer).
func (d *daemonProc) status(path string) int {
	resp, err := http.Get(d.base + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// logTail is the end of the daemon's log, for failure messages.
func (d *daemonProc) logTail() string {
	b, _ := os.ReadFile(d.log)
	return tail(string(b), 3000)
}

// kill stops the daemon with SIGKILL and waits for it.
func (d *daemonProc) kill() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

type readyzBody struct {
	Status    string `json:"status"`
	ReleaseID string `json:"release_id"`
	Sources   []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"sources"`
}

func (d *daemonProc) readyz() readyzBody {
	var body readyzBody
	resp, b := httpGet(d.t, d.base+"/readyz", nil)
	resp.Body.Close()
	json.Unmarshal(b, &body)
	return body
}

// TestServeFirstStart is a newcomer's first 'capstat serve': an empty
// output directory, a schedule far away. The daemon must publish at once
// (/readyz, a canned query and /api/sql answer without waiting for the
// schedule). Killed (-9) and restarted with one source unreachable, it
// serves the last release at once and reports that source as failing in
// /readyz and /metrics.
func TestServeFirstStart(t *testing.T) {
	if testing.Short() {
		t.Skip("daemon end-to-end: skipped in -short mode")
	}
	dir, _, world := demoTree(t, sandbox.Options{Seed: 5, Scale: sandbox.Tiny, Instances: []string{"landes"}})
	if _, err := os.Stat(filepath.Join(dir, "public")); !os.IsNotExist(err) {
		t.Fatalf("the test needs an empty output directory: %v", err)
	}
	addr := freeAddr(t)
	d := startDaemon(t, dir, addr, "serve1.log", "--schedule", "@every 1h")
	ok := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Minute)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s\n%s", what, d.logTail())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	ok("/readyz 200 on a first start", func() bool { return d.status("/readyz") == http.StatusOK })
	ok("a canned query", func() bool {
		return d.status("/api/queries/participation_vs_population?_format=json") == http.StatusOK
	})
	resp, err := http.Post(d.base+"/api/sql", "application/json", strings.NewReader(`{"sql": "SELECT count(*) AS n FROM proposals"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sqlBody struct {
		Rows [][]any `json:"rows"`
	}
	json.NewDecoder(resp.Body).Decode(&sqlBody)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(sqlBody.Rows) != 1 || len(sqlBody.Rows[0]) != 1 || sqlBody.Rows[0][0] == float64(0) {
		t.Errorf("/api/sql: %d %+v", resp.StatusCode, sqlBody)
	}
	checkCatalogue(t, d)
	// Parquet readers that work over HTTP read the release in place.
	var manifest struct {
		Files []struct {
			Path, Format string
			Rows         *int64
		}
	}
	_, mb := httpGet(t, d.base+"/data/latest/manifest.json", nil)
	json.Unmarshal(mb, &manifest)
	for _, f := range manifest.Files {
		if f.Format == "parquet" && f.Rows != nil && strings.HasSuffix(f.Path, "proposals.parquet") {
			if got := checkParquetOverHTTP(t, d.base+"/data/latest/"+f.Path); got != *f.Rows {
				t.Errorf("%s over HTTP ranges: %d rows, manifest %d", f.Path, got, *f.Rows)
			}
		}
	}
	first := d.readyz()
	if len(first.Sources) != 1 || first.Sources[0].Name != "landes" || first.Sources[0].Status != "ok" {
		t.Errorf("/readyz sources = %+v, want landes ok", first.Sources)
	}

	// capstat jobs asks the daemon with serve's flag; given the wrong
	// address while the daemon holds the database, it says so. (The
	// pipeline job ends after the release is ready: dashboards, engine.)
	ok("the first pipeline run to succeed", func() bool {
		return strings.Contains(capstat(t, dir, "jobs", "--addr", addr), "succeeded")
	})
	if out := capstat(t, dir, "jobs", "--addr", addr); !strings.Contains(out, "pipeline") || !strings.Contains(out, "succeeded") {
		t.Errorf("capstat jobs --addr %s:\n%s", addr, out)
	}
	wrong := exec.Command(capstatBinary(t), "jobs", "--addr", freeAddr(t))
	wrong.Dir, wrong.Env = dir, append(os.Environ(), "CAPSTAT_CONFIG=capstat.yaml")
	if out, err := wrong.CombinedOutput(); err == nil || !strings.Contains(string(out), "held by another process") || !strings.Contains(string(out), "--addr") {
		t.Errorf("capstat jobs on a wrong address while the daemon runs: %v\n%s", err, out)
	}

	// kill -9, then a restart where the source's API is gone.
	d.kill()
	if err := writeSandboxConfig(filepath.Join(dir, "capstat.yaml"), "http://"+freeAddr(t), world); err != nil {
		t.Fatal(err)
	}
	d = startDaemon(t, dir, addr, "serve2.log", "--schedule", "@every 1h")
	ok("/readyz after the restart", func() bool { return d.status("/readyz") == http.StatusOK })
	ok("the source reported failing", func() bool {
		r := d.readyz()
		return len(r.Sources) == 1 && r.Sources[0].Status == "failing" && r.Sources[0].Error != ""
	})
	if r := d.readyz(); r.ReleaseID != first.ReleaseID {
		t.Errorf("release after restart = %q, want the last one %q", r.ReleaseID, first.ReleaseID)
	}
	_, metrics := httpGet(t, d.base+"/metrics", nil)
	if !strings.Contains(string(metrics), `capstat_source_up{source="landes"} 0`) {
		t.Errorf("/metrics has no capstat_source_up{source=\"landes\"} 0:\n%s", tail(string(metrics), 2000))
	}
	ok("the site and a canned query after the restart", func() bool {
		return d.status("/") == http.StatusOK && d.status("/api/queries/participation_vs_population?_format=json") == http.StatusOK
	})
}

// checkCatalogue reads the daemon's DCAT catalogue (/catalog.jsonld) and
// downloads every distribution: each answers 200 with the bytes whose
// SHA-256 the catalogue gives. (The sandbox config names the default
// address; the test's daemon listens elsewhere.)
func checkCatalogue(t *testing.T, d *daemonProc) {
	t.Helper()
	resp, body := httpGet(t, d.base+"/catalog.jsonld", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/ld+json") {
		t.Fatalf("/catalog.jsonld: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		Graph []map[string]any `json:"@graph"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	first := func(n map[string]any, p string) string {
		list, _ := n[p].([]any)
		if len(list) == 0 {
			return ""
		}
		m := list[0].(map[string]any)
		if id, ok := m["@id"].(string); ok {
			return id
		}
		return m["@value"].(string)
	}
	byID := map[string]map[string]any{}
	for _, n := range doc.Graph {
		byID[n["@id"].(string)] = n
	}
	n := 0
	for _, node := range doc.Graph {
		url := first(node, "http://www.w3.org/ns/dcat#downloadURL")
		if url == "" {
			continue
		}
		want := first(byID[first(node, "http://spdx.org/rdf/terms#checksum")], "http://spdx.org/rdf/terms#checksumValue")
		resp, data := httpGet(t, strings.Replace(url, "http://127.0.0.1:8080", d.base, 1), nil)
		sum := sha256.Sum256(data)
		if resp.StatusCode != http.StatusOK || hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s: %d, sha256 %x, catalogue %s", url, resp.StatusCode, sum, want)
		}
		n++
	}
	if n < 16 {
		t.Errorf("the catalogue has %d distributions", n)
	}
}
