package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/capstat/capstat/sandbox"
)

type jobsBody struct {
	Jobs []struct {
		Name string `json:"name"`
		Spec string `json:"spec"`
	} `json:"jobs"`
	Runs []struct {
		ID      int64  `json:"id"`
		Job     string `json:"job"`
		Trigger string `json:"trigger"`
		Status  string `json:"status"`
	} `json:"runs"`
}

// TestServeDaemon starts 'capstat serve' against the sandbox with a fast
// schedule and checks what an operator relies on: the first release, two
// scheduled runs and a skipped overlap, metrics, readiness, ranged
// downloads, the job history, the admin trigger, a clean exit on SIGTERM
// during a run, and a restart that carries on.
func TestServeDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("daemon end-to-end: skipped in -short mode")
	}
	dir, apiURL, _ := demoTree(t, sandbox.Options{Seed: 3, Scale: sandbox.Tiny, Instances: []string{"landes", "gironde"}})
	addr := freeAddr(t)
	base := "http://" + addr
	start := func(logName string) *daemonProc {
		return startDaemon(t, dir, addr, logName, "--schedule", "*/2 * * * * *")
	}
	jobs := func() jobsBody {
		var body jobsBody
		resp, b := httpGet(t, base+"/api/jobs?limit=500", nil)
		if resp.StatusCode == http.StatusOK {
			json.Unmarshal(b, &body)
		}
		return body
	}
	d := start("serve1.log")
	status := d.status
	waitFor(t, 20*time.Second, "/healthz", func() bool { return status("/healthz") == http.StatusOK })
	waitFor(t, 3*time.Minute, "the first release (/readyz 200)", func() bool { return status("/readyz") == http.StatusOK })
	waitFor(t, time.Minute, "the first site and query engine", func() bool {
		return status("/") == http.StatusOK && status("/api/queries") == http.StatusOK
	})
	waitFor(t, 2*time.Minute, "two scheduled runs and a skipped overlap", func() bool {
		scheduled, skipped := 0, 0
		for _, r := range jobs().Runs {
			if r.Trigger == "schedule" && r.Status == "succeeded" {
				scheduled++
			}
			if r.Status == "skipped" {
				skipped++
			}
		}
		return scheduled >= 2 && skipped >= 1
	})

	// Each source has its full sweep job, on full_schedule (which
	// --schedule leaves alone).
	specs := map[string]string{}
	for _, j := range jobs().Jobs {
		specs[j.Name] = j.Spec
	}
	for _, src := range []string{"landes", "gironde"} {
		if spec := specs["full-"+src]; !strings.HasSuffix(spec, " 0 3 * * *") {
			t.Errorf("job full-%s: spec %q, want the nightly full sweep (0 3 * * *); jobs %v", src, spec, specs)
		}
	}

	resp, body := httpGet(t, base+"/metrics", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "capstat_ingest_records_total") {
		t.Errorf("/metrics: %d, ingest counters missing:\n%s", resp.StatusCode, tail(string(body), 1500))
	}
	resp, body = httpGet(t, base+"/data/latest/manifest.json", map[string]string{"Range": "bytes=0-9"})
	if resp.StatusCode != http.StatusPartialContent || len(body) != 10 || resp.Header.Get("ETag") == "" {
		t.Errorf("ranged download: status %d, %d bytes, ETag %q", resp.StatusCode, len(body), resp.Header.Get("ETag"))
	}
	resp, body = httpGet(t, base+"/", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `lang="fr"`) || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("home page: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}

	t.Run("readme", func(t *testing.T) { runReadmeExamples(t, dir, exampleHosts{sandbox: apiURL, daemon: addr}) })

	// The admin trigger needs the token.
	post := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/jobs/pipeline/run", bytes.NewReader(nil))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("wrong"); code != http.StatusUnauthorized {
		t.Errorf("trigger with a wrong token: %d, want 401", code)
	}
	if code := post("test-admin-token"); code != http.StatusAccepted && code != http.StatusConflict {
		t.Errorf("trigger with the token: %d, want 202 or 409", code)
	}

	// SIGTERM while a job runs: a clean, bounded exit.
	waitFor(t, time.Minute, "a running job", func() bool {
		for _, r := range jobs().Runs {
			if r.Status == "running" {
				return true
			}
		}
		return false
	})
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "serve1.log"))
			t.Fatalf("serve exited with %v after SIGTERM\n%s", err, tail(string(log), 3000))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit within 30 s of SIGTERM")
	}

	// The query engine's private copy of the release went with the
	// engine; one left by a killed daemon goes at the next start.
	tables := filepath.Join(dir, "var", "capstat.duckdb.query-tables")
	if entries, err := os.ReadDir(tables); err != nil || len(entries) != 0 {
		t.Errorf("query tables after SIGTERM: %v %v", entries, err)
	}
	stale := filepath.Join(tables, "capstat-queries-killed")
	os.MkdirAll(stale, 0o700)
	os.WriteFile(filepath.Join(stale, "tables.duckdb"), []byte("left by kill -9"), 0o600)

	// The next start serves the existing release at once and carries on.
	d2 := start("serve2.log")
	waitFor(t, 20*time.Second, "/readyz after restart", func() bool { return status("/readyz") == http.StatusOK })
	waitFor(t, 20*time.Second, "the query engine after restart", func() bool { return status("/api/queries") == http.StatusOK })
	// (A scheduled publish may be loading the next release meanwhile.)
	waitFor(t, 20*time.Second, "the stale query tables gone, the engine's loaded", func() bool {
		entries, _ := os.ReadDir(tables)
		for _, e := range entries {
			if e.Name() == filepath.Base(stale) {
				return false
			}
		}
		if len(entries) == 0 {
			return false
		}
		_, err := os.Stat(filepath.Join(tables, entries[0].Name(), "tables.duckdb"))
		return err == nil
	})
	// Runs of the first process are still in the history, the one cut by
	// SIGTERM is recorded as interrupted, and new scheduled runs succeed.
	var lastBefore int64
	for _, r := range jobs().Runs {
		lastBefore = max(lastBefore, r.ID)
	}
	var seen jobsBody
	waitFor(t, 2*time.Minute, "a successful scheduled run after restart", func() bool {
		seen = jobs()
		for _, r := range seen.Runs {
			if r.ID > lastBefore && r.Trigger == "schedule" && r.Status == "succeeded" {
				return true
			}
		}
		return false
	})
	interrupted := false
	for _, r := range seen.Runs {
		interrupted = interrupted || r.Status == "interrupted"
	}
	if !interrupted {
		t.Errorf("no run recorded as interrupted by SIGTERM: %+v", seen.Runs)
	}
	d2.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d2.done:
	case <-time.After(30 * time.Second):
		t.Error("second serve did not exit within 30 s of SIGTERM")
	}
}
