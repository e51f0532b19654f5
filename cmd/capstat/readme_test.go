package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/capstat/capstat/internal/duckdbx"
)

// example is one fenced code block of README.md.
type example struct {
	lang, code string
	line       int
}

func readmeExamples(t *testing.T) []example {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out []example
		cur *example
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &example{lang: strings.TrimPrefix(line, "```"), line: n}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.code += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// exampleHosts are the running servers README examples talk to.
type exampleHosts struct {
	sandbox string // base URL of the sandbox API (replaces http://127.0.0.1:8787)
	daemon  string // host:port of 'capstat serve' (replaces 127.0.0.1:8080); "" skips curl
}

// runReadmeExamples runs every README example that can run against the
// tree in dir: SQL through DuckDB, Python through python3 (pandas), R
// through Rscript, shell lines through sh with the built capstat first on
// PATH. Console blocks (make demo, make test, the daemon) are run by CI and
// by TestServeDaemon.
func runReadmeExamples(t *testing.T, dir string, hosts exampleHosts) {
	bin := capstatBinary(t)
	ran := 0
	for _, ex := range readmeExamples(t) {
		name := ex.lang + "@README.md:" + strconv.Itoa(ex.line)
		switch ex.lang {
		case "sql":
			if hosts.daemon != "" {
				continue
			}
			runSQLExample(t, name, dir, ex.code)
			ran++
		case "python":
			if hosts.daemon != "" {
				continue
			}
			py := pythonWithPandas(t)
			if py == "" {
				skipOrFail(t, name, "no python3 with pandas (apt-get install python3-pandas)")
				continue
			}
			if strings.Contains(ex.code, "read_parquet") {
				if needs := missingTool(t, py, "import pyarrow"); needs != "" {
					t.Logf("%s: not run: %s (pip install pyarrow); the CSV example ran instead", name, needs)
					continue
				}
			}
			runCmd(t, name, dir, nil, py, "-c", ex.code)
			ran++
		case "r":
			if hosts.daemon != "" {
				continue
			}
			if needs := missingTool(t, "Rscript", "invisible(1)"); needs != "" {
				skipOrFail(t, name, needs)
				continue
			}
			if strings.Contains(ex.code, "library(arrow)") {
				if needs := missingTool(t, "Rscript", "library(arrow)"); needs != "" {
					t.Logf("%s: not run: the R arrow package is not installed here; the CSV example ran instead", name)
					continue
				}
			}
			runCmd(t, name, dir, nil, "Rscript", "-e", ex.code)
			ran++
		case "sh":
			for _, line := range strings.Split(strings.TrimSpace(ex.code), "\n") {
				if i := strings.Index(line, "  #"); i >= 0 {
					line = line[:i]
				}
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				isCurl := strings.HasPrefix(line, "curl ")
				if isCurl != (hosts.daemon != "") && !strings.HasPrefix(line, "capstat jobs") {
					continue
				}
				if strings.HasPrefix(line, "capstat serve") {
					continue // TestServeDaemon runs the daemon itself
				}
				if strings.HasPrefix(line, "capstat jobs") && hosts.daemon == "" {
					continue
				}
				if hosts.daemon != "" {
					line = strings.ReplaceAll(line, "127.0.0.1:8080", hosts.daemon)
					if strings.HasPrefix(line, "curl ") {
						line = strings.Replace(line, "curl -s", "curl -sf", 1)
					} else {
						line += " --addr " + hosts.daemon
					}
				}
				if hosts.sandbox != "" {
					line = strings.ReplaceAll(line, "http://127.0.0.1:8787", hosts.sandbox)
				}
				out := runCmd(t, name, dir, []string{"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH")}, "sh", "-c", line)
				if strings.TrimSpace(out) == "" && !strings.Contains(line, "ingest") && !strings.Contains(line, " run") {
					t.Errorf("%s: %q printed nothing", name, line)
				}
				ran++
			}
		}
	}
	if ran == 0 {
		t.Fatal("no README example ran")
	}
	t.Logf("%d README examples ran", ran)
}

func runSQLExample(t *testing.T, name, dir, code string) {
	db, err := duckdbx.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code = strings.ReplaceAll(code, "'public/", "'"+dir+"/public/")
	rows, err := db.Query(code)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if n == 0 {
		t.Errorf("%s: no rows", name)
	}
}

func runCmd(t *testing.T, name, dir string, env []string, prog string, args ...string) string {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CAPSTAT_CONFIG=capstat.yaml"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s: %s %s: %v\n%s", name, prog, strings.Join(args, " "), err, tail(string(out), 2000))
	}
	return string(out)
}

// pythonWithPandas returns a python3 that imports pandas: the first on PATH,
// else Debian's (python3-pandas), else "".
func pythonWithPandas(t *testing.T) string {
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if missingTool(t, py, "import pandas") == "" {
			return py
		}
	}
	return ""
}

// missingTool says what is missing to run probe with prog ("" if nothing).
func missingTool(t *testing.T, prog, probe string) string {
	if _, err := exec.LookPath(prog); err != nil {
		return prog + " is not installed"
	}
	flag := "-c"
	if prog == "Rscript" {
		flag = "-e"
	}
	if out, err := exec.Command(prog, flag, probe).CombinedOutput(); err != nil {
		return prog + " " + probe + ": " + strings.TrimSpace(tail(string(out), 200))
	}
	return ""
}

// skipOrFail logs a README example that cannot run here; in CI (which
// installs python3-pandas and r-base-core) it is a failure.
func skipOrFail(t *testing.T, name, why string) {
	if os.Getenv("CI") != "" {
		t.Errorf("%s: cannot run in CI: %s", name, why)
		return
	}
	t.Logf("%s: not run: %s", name, why)
}
