package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/capstat/capstat/ingest"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/sandbox"
)

const (
	childEnv     = "CAPSTAT_INGEST_CHILD_DB"
	childURLEnv  = "CAPSTAT_INGEST_CHILD_URL"
	childSrcsEnv = "CAPSTAT_INGEST_CHILD_SOURCES"
)

// runChild is the body of the re-executed test binary: one ingestion that
// the parent kills with SIGKILL.
func runChild() int {
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, os.Getenv(childEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer db.Close()
	srcs := sourcesFor(os.Getenv(childURLEnv), strings.Split(os.Getenv(childSrcsEnv), ","))
	if _, err := ingest.Ingest(ctx, db, srcs, ingest.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	ctx := context.Background()
	scale, _ := sandbox.ParseScale("tiny")
	truth := sandbox.GroundTruth(seed, scale)
	names := instanceNames(truth)[:3]
	srv, err := sandbox.New(sandbox.Options{Seed: seed, Scale: scale, Latency: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		srv.Handler().ServeHTTP(w, r)
	}))
	defer ts.Close()

	// Reference: an uninterrupted crawl.
	refDB := openDB(t, filepath.Join(t.TempDir(), "ref.duckdb"))
	if _, err := ingest.Ingest(ctx, refDB, sourcesFor(ts.URL, names), ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	full := served.Load()
	want := tablesHash(t, refDB)

	path := filepath.Join(t.TempDir(), "killed.duckdb")
	served.Store(0)
	killChild(t, path, ts.URL, names, &served, full/2)
	t.Logf("killed after %d of %d requests", served.Load(), full)

	db := openDB(t, path)
	var cps, done int
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (done) FROM raw.checkpoints`).Scan(&cps, &done); err != nil {
		t.Fatal(err)
	}
	if cps == 0 {
		t.Fatalf("no checkpoint after %d requests", served.Load())
	}
	served.Store(0)
	rep, err := ingest.Ingest(ctx, db, sourcesFor(ts.URL, names), ingest.Options{})
	if err != nil {
		t.Fatalf("resumed ingest: %v", err)
	}
	if resumedSources(rep) == 0 {
		t.Errorf("no source resumed:\n%s", rep)
	}
	if served.Load() >= full {
		t.Errorf("resumed run made %d requests, a full crawl makes %d", served.Load(), full)
	}
	t.Logf("%d checkpoints (%d done) at kill; resumed run made %d requests", cps, done, served.Load())
	got := tablesHash(t, db)
	for tbl, h := range want {
		if got[tbl] != h {
			t.Errorf("raw.%s differs after kill + resume: %s vs %s", tbl, got[tbl], h)
		}
	}
	checkUnique(t, db)
}

// killChild runs one ingestion of names from url into the database at
// path in a child process and kills it with SIGKILL once served (the
// server's request count) reaches at, or after two minutes. The child
// finishing first fails the test.
func killChild(t *testing.T, path, url string, names []string, served *atomic.Int64, at int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path, childURLEnv+"="+url, childSrcsEnv+"="+strings.Join(names, ","))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
wait:
	for served.Load() < at {
		select {
		case err := <-exited:
			t.Fatalf("child finished before being killed (%v) after %d/%d requests", err, served.Load(), at)
		case <-deadline:
			break wait
		case <-time.After(2 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
}

// resumedSources counts the sources of rep that resumed an interrupted run.
func resumedSources(rep *ingest.Report) int {
	n := 0
	for _, s := range rep.Sources {
		if s.Resumed {
			n++
		}
	}
	return n
}
