package ingest_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/capstat/capstat/ingest"
	"github.com/capstat/capstat/sandbox"
)

// evolvingSandbox serves an evolving sandbox world and counts requests;
// cancel, when set, is called once the count reaches killAt.
type evolvingSandbox struct {
	srv    *sandbox.Server
	ts     *httptest.Server
	served atomic.Int64
	killAt atomic.Int64
	cancel atomic.Pointer[context.CancelFunc]
}

func newEvolvingSandbox(t *testing.T, opts sandbox.Options) *evolvingSandbox {
	t.Helper()
	srv, err := sandbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &evolvingSandbox{srv: srv}
	e.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := e.served.Add(1)
		if k := e.killAt.Load(); k > 0 && n >= k {
			if c := e.cancel.Swap(nil); c != nil {
				(*c)()
			}
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(e.ts.Close)
	return e
}

// ingest runs one ingestion; killAt > 0 cancels it at that request (a
// crash at a request boundary: what is committed stays).
func (e *evolvingSandbox) ingest(t *testing.T, db *sql.DB, names []string, opts ingest.Options, killAt int64) (*ingest.Report, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.served.Store(0)
	e.killAt.Store(killAt)
	if killAt > 0 {
		e.cancel.Store(&cancel)
	}
	defer e.killAt.Store(0)
	return ingest.Ingest(ctx, db, sourcesFor(e.ts.URL, names), opts)
}

func mustComplete(t *testing.T, rep *ingest.Report, err error, mode string) {
	t.Helper()
	if err != nil {
		t.Fatalf("ingest: %v\n%s", err, rep)
	}
	for _, s := range rep.Sources {
		if !s.Complete {
			t.Fatalf("%s incomplete:\n%s", s.Source, rep)
		}
		if s.Mode != mode {
			t.Fatalf("%s ran %s, want %s:\n%s", s.Source, s.Mode, mode, rep)
		}
	}
}

// compareTables fails when the live rows of got differ from want's.
func compareTables(t *testing.T, label string, got, want *sql.DB) {
	t.Helper()
	g, w := liveTablesHash(t, got), liveTablesHash(t, want)
	for tbl, h := range w {
		if g[tbl] != h {
			t.Errorf("%s: raw.%s differs from a full crawl: %s vs %s", label, tbl, g[tbl], h)
			diffRows(t, got, want, tbl)
		}
	}
}

// diffRows logs a few rows of table present in one database only.
func diffRows(t *testing.T, a, b *sql.DB, table string) {
	t.Helper()
	rows := func(db *sql.DB) map[string]string {
		out := map[string]string{}
		rs, err := db.Query(`SELECT source || '/' || id, content_hash FROM raw.` + table + ` WHERE deleted_run IS NULL`)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		for rs.Next() {
			var k, h string
			if err := rs.Scan(&k, &h); err != nil {
				t.Fatal(err)
			}
			out[k] = h
		}
		return out
	}
	ra, rb := rows(a), rows(b)
	n := 0
	for k, h := range ra {
		if rb[k] != h && n < 5 {
			t.Logf("  refreshed has %s (%s), full crawl %q", k, h, rb[k])
			n++
		}
	}
	for k := range rb {
		if _, ok := ra[k]; !ok && n < 10 {
			t.Logf("  full crawl has %s, refreshed has not", k)
			n++
		}
	}
}

// TestRefreshEqualsFullCrawl is the property of incremental refresh: over
// random sequences of epochs of an evolving world, with random kill points
// and API faults, a database refreshed after each epoch holds the same live
// rows, table for table, as a fresh full crawl of the last epoch.
func TestRefreshEqualsFullCrawl(t *testing.T) {
	trials := 3
	if testing.Short() {
		trials = 1
	}
	for trial := range trials {
		t.Run(fmt.Sprint("trial", trial), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(trial), 16))
			scale := sandbox.Tiny
			if trial == 2 {
				scale = sandbox.Small
			}
			names := []string{"gironde", "landes"}
			opts := sandbox.Options{Seed: int64(100 + trial), Scale: scale, Instances: names}
			if trial == 1 {
				opts.FailRate = 0.05
			}
			e := newEvolvingSandbox(t, opts)
			db := openDB(t, filepath.Join(t.TempDir(), "refreshed.duckdb"))
			rep, err := e.ingest(t, db, names, ingest.Options{}, 0)
			mustComplete(t, rep, err, ingest.ModeFull)
			full := e.served.Load()
			epoch := 0
			for step := range 4 {
				epoch += 1 + r.IntN(2)
				if err := e.srv.World().AdvanceTo(epoch); err != nil {
					t.Fatal(err)
				}
				if r.IntN(2) == 0 {
					kill := 1 + r.Int64N(40)
					rep, err := e.ingest(t, db, names, ingest.Options{}, kill)
					if err == nil {
						t.Logf("epoch %d: the refresh finished before request %d", epoch, kill)
					} else if !errors.Is(err, context.Canceled) {
						t.Logf("epoch %d: killed at request %d: %v", epoch, kill, err)
					}
					_ = rep
				}
				rep, err := e.ingest(t, db, names, ingest.Options{}, 0)
				mustComplete(t, rep, err, ingest.ModeIncremental)
				refreshed := e.served.Load()

				ref := openDB(t, filepath.Join(t.TempDir(), fmt.Sprintf("full-%d.duckdb", step)))
				frep, err := e.ingest(t, ref, names, ingest.Options{}, 0)
				mustComplete(t, frep, err, ingest.ModeFull)
				t.Logf("epoch %d: refresh %d requests, full crawl %d (first crawl %d)", epoch, refreshed, e.served.Load(), full)
				compareTables(t, fmt.Sprintf("epoch %d", epoch), db, ref)
				if t.Failed() {
					t.Logf("refresh report:\n%s", rep)
					return
				}
			}
		})
	}
}

// TestRefreshResumeAfterKill: a refresh killed with SIGKILL mid-way is
// resumed by the next run, which then completes it in incremental mode;
// the tables equal a full crawl of the same epoch.
func TestRefreshResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	names := []string{"gironde", "landes", "meuse"}
	e := newEvolvingSandbox(t, sandbox.Options{Seed: seed, Scale: sandbox.Tiny, Instances: names, Latency: 15 * time.Millisecond})
	path := filepath.Join(t.TempDir(), "refreshed.duckdb")
	db := openDB(t, path)
	rep, err := e.ingest(t, db, names, ingest.Options{}, 0)
	mustComplete(t, rep, err, ingest.ModeFull)
	db.Close()
	if err := e.srv.World().AdvanceTo(2); err != nil {
		t.Fatal(err)
	}
	// How many requests the refresh makes, on a copy of the database: the
	// child is killed at two thirds of them (after its first commits).
	dry := filepath.Join(t.TempDir(), "dry.duckdb")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dry, b, 0o644); err != nil {
		t.Fatal(err)
	}
	drydb := openDB(t, dry)
	rep, err = e.ingest(t, drydb, names, ingest.Options{}, 0)
	mustComplete(t, rep, err, ingest.ModeIncremental)
	killAt := e.served.Load() * 2 / 3
	e.served.Store(0)
	killChild(t, path, e.ts.URL, names, &e.served, killAt)
	t.Logf("killed after %d requests", e.served.Load())

	db = openDB(t, path)
	rep, err = e.ingest(t, db, names, ingest.Options{}, 0)
	mustComplete(t, rep, err, ingest.ModeIncremental)
	if resumedSources(rep) == 0 {
		t.Errorf("no source resumed its refresh:\n%s", rep)
	}
	ref := openDB(t, filepath.Join(t.TempDir(), "full.duckdb"))
	frep, err := e.ingest(t, ref, names, ingest.Options{}, 0)
	mustComplete(t, frep, err, ingest.ModeFull)
	compareTables(t, "after kill and resume", db, ref)
	checkUnique(t, db)
}

// TestRefreshUnderHostileAnswers: malformed answers to the refresh's own
// checks are retried, and checks whose counts do not add up (here every
// totalCount one below the truth, as an index lagging behind would give)
// make the refresh re-read the lists in full: the tables still equal a
// full crawl's. (A count above the truth could hide a withdrawn vote
// behind a new one: the staleness a full sweep bounds.)
func TestRefreshUnderHostileAnswers(t *testing.T) {
	cases := []struct {
		name    string
		rewrite func(body []byte, n int) []byte // n: how many check answers came before
	}{
		{"malformed every other answer", func(b []byte, n int) []byte {
			if n%2 == 0 {
				return b[:len(b)/2]
			}
			return b
		}},
		{"counts one below the truth", func(b []byte, n int) []byte {
			return regexp.MustCompile(`"totalCount":(\d+)`).ReplaceAllFunc(b, func(m []byte) []byte {
				var v int
				fmt.Sscanf(string(m), `"totalCount":%d`, &v)
				return []byte(fmt.Sprintf(`"totalCount":%d`, max(0, v-1)))
			})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			names := []string{"gironde", "landes"}
			srv, err := sandbox.New(sandbox.Options{Seed: 5, Scale: sandbox.Tiny, Instances: names})
			if err != nil {
				t.Fatal(err)
			}
			var hostile atomic.Bool
			var checks atomic.Int64
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				if !hostile.Load() || !bytes.Contains(body, []byte("ProposalVoteHeads")) && !bytes.Contains(body, []byte("ProposalVotesNewest")) {
					srv.Handler().ServeHTTP(w, r)
					return
				}
				rec := httptest.NewRecorder()
				srv.Handler().ServeHTTP(rec, r)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(rec.Code)
				w.Write(tc.rewrite(rec.Body.Bytes(), int(checks.Add(1))))
			}))
			defer ts.Close()
			db := openDB(t, filepath.Join(t.TempDir(), "refreshed.duckdb"))
			rep, err := ingest.Ingest(context.Background(), db, sourcesFor(ts.URL, names), ingest.Options{})
			mustComplete(t, rep, err, ingest.ModeFull)
			if err := srv.World().AdvanceTo(2); err != nil {
				t.Fatal(err)
			}
			hostile.Store(true)
			rep, err = ingest.Ingest(context.Background(), db, sourcesFor(ts.URL, names), ingest.Options{})
			mustComplete(t, rep, err, ingest.ModeIncremental)
			hostile.Store(false)
			if checks.Load() == 0 {
				t.Fatal("no vote check was answered")
			}
			ref := openDB(t, filepath.Join(t.TempDir(), "full.duckdb"))
			frep, err := ingest.Ingest(context.Background(), ref, sourcesFor(ts.URL, names), ingest.Options{})
			mustComplete(t, frep, err, ingest.ModeFull)
			compareTables(t, tc.name, db, ref)
		})
	}
}
