package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capstat/capstat/sandbox"
)

// TestGoInstallFromClone is a Go user's first contact: a clean clone of
// the committed tree, `go install ./cmd/capstat`, then the installed binary
// run from another directory publishes a site whose pages have their
// charts (the ECharts bundle is embedded, nothing fetched at build time).
func TestGoInstallFromClone(t *testing.T) {
	if testing.Short() {
		t.Skip("go install from a clone: skipped in -short mode")
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git work tree: %v", err)
	}
	tmp := t.TempDir()
	src, gobin := filepath.Join(tmp, "src"), filepath.Join(tmp, "bin")
	run := func(dir string, env []string, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(string(out), 3000))
		}
	}
	run(tmp, nil, "git", "clone", "--quiet", "--no-hardlinks", strings.TrimSpace(string(top)), src)
	run(src, []string{"GOBIN=" + gobin, "GOFLAGS=-mod=readonly"}, "go", "install", "./cmd/capstat")

	dir, _, _ := demoTree(t, sandbox.Options{Seed: 2, Scale: sandbox.Tiny, Instances: []string{"landes"}})
	run(dir, []string{"CAPSTAT_CONFIG=capstat.yaml"}, filepath.Join(gobin, "capstat"), "run")

	site := filepath.Join(dir, "public", "site")
	js, err := os.ReadFile(filepath.Join(site, "assets", "echarts.min.js"))
	if err != nil || len(js) < 500_000 || !strings.Contains(string(js[:4096]), "Apache") {
		t.Fatalf("site's echarts.min.js: %d bytes, %v", len(js), err)
	}
	for _, f := range []string{"assets/echarts.LICENSE.txt", "assets/echarts.NOTICE.txt"} {
		if _, err := os.Stat(filepath.Join(site, f)); err != nil {
			t.Errorf("site lacks %s: %v", f, err)
		}
	}
	home, err := os.ReadFile(filepath.Join(site, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	charts, err := os.ReadFile(filepath.Join(site, "index.charts.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(home), "echarts.min.js") || !strings.Contains(string(charts), `"series":[{`) {
		t.Errorf("home page does not load its charts (echarts.min.js in index.html, series in index.charts.js)")
	}
}
