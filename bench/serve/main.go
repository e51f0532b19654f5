// Command serve load-tests the daemon's HTTP server on loopback while a CPU-heavy
// fake pipeline job runs in the same process's scheduler.
//
// It builds a fixture published tree (site + one release) in a temporary
// folder (or serves -dir), starts the server on 127.0.0.1:0, triggers the
// fake job, then runs two bounded phases: the home page, then a download of
// the release CSV. It prints requests/s, latency percentiles and errors per
// phase. Total time is capped at 20 s.
//
//	go run ./bench/serve -duration 8s -concurrency 32
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/capstat/capstat/ingest"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/sandbox"

	"github.com/capstat/capstat/daemon"
	"github.com/capstat/capstat/schedules"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/serve:", err)
		os.Exit(1)
	}
}

type config struct {
	duration     time.Duration
	concurrency  int
	dir          string
	cpuWorkers   int
	downloadSize int
	accessLog    bool
	rate         float64
	cacheTTL     time.Duration
}

// watchdog bounds the whole program, whatever the machine does.
const watchdog = 60 * time.Second

func run() error {
	time.AfterFunc(watchdog, func() {
		fmt.Fprintln(os.Stderr, "bench/serve: watchdog: still running after", watchdog)
		os.Exit(2)
	})
	var c config
	flag.DurationVar(&c.duration, "duration", 8*time.Second, "length of each phase (two phases; total capped at 20s)")
	flag.IntVar(&c.concurrency, "concurrency", 32, "concurrent client connections")
	flag.StringVar(&c.dir, "dir", "", "published tree to serve (default: a generated fixture)")
	flag.IntVar(&c.cpuWorkers, "cpu-workers", 1, "goroutines burning CPU in the fake pipeline job (0: no job)")
	realIngest := flag.Bool("ingest", false, "run real ingests (sandbox at small scale → DuckDB) in the pipeline job instead of burning CPU")
	flag.IntVar(&c.downloadSize, "download-bytes", 1<<20, "size of the generated CSV download")
	flag.Float64Var(&c.rate, "rate", 0, "open-loop request rate per phase in req/s (0: as fast as possible)")
	flag.DurationVar(&c.cacheTTL, "file-cache-ttl", 0, "server FileCacheTTL (0: default 1s, negative: no cache)")
	flag.BoolVar(&c.accessLog, "access-log", true, "write the JSON access log (to a temporary file)")
	serveFor := flag.Duration("serve-for", 0, "only serve (for an external load generator such as wrk) for this long, capped at 30s")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if 2*c.duration > 20*time.Second {
		c.duration = 10 * time.Second
	}
	if c.concurrency < 1 {
		return errors.New("concurrency must be >= 1")
	}

	tmp, err := os.MkdirTemp("", "capstat-bench-serve-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if c.dir == "" {
		c.dir = filepath.Join(tmp, "public")
		if err := writeFixture(c.dir, c.downloadSize); err != nil {
			return err
		}
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	sched, err := schedules.New(context.Background(), schedules.Options{Logger: logger})
	if err != nil {
		return err
	}
	var burned sync.WaitGroup
	var hashes int64
	var hmu sync.Mutex
	var ingested int64
	if err := sched.Add(schedules.Job{Name: "cpu-heavy", Run: func(ctx context.Context) error {
		if *realIngest {
			n, err := ingestUntilDone(ctx, tmp)
			hmu.Lock()
			ingested += n
			hmu.Unlock()
			return err
		}
		for i := 0; i < c.cpuWorkers; i++ {
			burned.Add(1)
			go func() {
				defer burned.Done()
				n := burn(ctx)
				hmu.Lock()
				hashes += n
				hmu.Unlock()
			}()
		}
		burned.Wait()
		return ctx.Err()
	}}); err != nil {
		return err
	}

	var accessLog io.Writer
	if c.accessLog {
		f, err := os.Create(filepath.Join(tmp, "access.log"))
		if err != nil {
			return err
		}
		defer f.Close()
		accessLog = f
	}
	srv, err := daemon.New(daemon.Options{
		OutDir:    c.dir,
		Scheduler: sched,
		Logger:    logger,
		AccessLog: accessLog,
		RateLimit: daemon.RateLimit{RPS: -1},

		FileCacheTTL: c.cacheTTL,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	if c.cpuWorkers > 0 {
		if err := sched.Trigger("cpu-heavy"); err != nil {
			return err
		}
	}
	if *serveFor > 0 {
		fmt.Printf("listening %s\n", base)
		select {
		case <-time.After(min(*serveFor, 30*time.Second)):
		case err := <-errc:
			return err
		}
		cancel()
		if err := <-errc; err != nil {
			return err
		}
		return reportCPU(filepath.Join(tmp, "access.log"), c.cpuWorkers)
	}
	fmt.Printf("GOMAXPROCS=%d NumCPU=%d concurrency=%d phase=%s cpu-workers=%d access-log=%v rate=%g\n",
		runtime.GOMAXPROCS(0), runtime.NumCPU(), c.concurrency, c.duration, c.cpuWorkers, c.accessLog, c.rate)
	fmt.Printf("%-10s %9s %10s %9s %9s %9s %9s %7s %12s\n", "phase", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "MB/s")

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        c.concurrency * 2,
		MaxIdleConnsPerHost: c.concurrency * 2,
		DisableCompression:  true,
	}, Timeout: 10 * time.Second}
	var failed bool
	for _, ph := range []struct{ name, path string }{
		{"home", "/"},
		{"download", "/data/latest/csv/proposals.csv"},
	} {
		r := load(client, base+ph.path, c.concurrency, c.duration, c.rate)
		fmt.Printf("%-10s %9d %10.0f %9.2f %9.2f %9.2f %9.2f %7d %12.1f\n", ph.name, r.n, r.rps(), r.pct(50), r.pct(90), r.pct(99), r.pct(100), r.errors, r.mbps())
		if r.errors > 0 {
			failed = true
			fmt.Printf("  first error: %s\n", r.firstErr)
		}
	}

	cancel() // graceful shutdown: also stops the scheduler and the CPU job
	if err := <-errc; err != nil {
		return err
	}
	hmu.Lock()
	if *realIngest {
		fmt.Printf("ingest job: %d raw records written while serving\n", ingested)
	} else {
		fmt.Printf("cpu job: %d sha256 blocks hashed while serving\n", hashes)
	}
	hmu.Unlock()
	if run, wait, ok := schedWait(); ok {
		fmt.Printf("process threads (server + client): %s on a CPU, %s runnable but waiting for one\n",
			run.Round(time.Millisecond), wait.Round(time.Millisecond))
	}
	if failed {
		return errors.New("requests failed")
	}
	return nil
}

// burn hashes until ctx ends and returns the number of 4 KiB blocks.
func burn(ctx context.Context) int64 {
	buf := make([]byte, 4096)
	var n int64
	for ctx.Err() == nil {
		for i := 0; i < 256; i++ {
			sum := sha256.Sum256(buf)
			buf[0] ^= sum[0]
			n++
		}
	}
	return n
}

type result struct {
	n, errors int
	bytes     int64
	lat       []time.Duration
	elapsed   time.Duration
	firstErr  string
}

func (r result) rps() float64  { return float64(r.n) / r.elapsed.Seconds() }
func (r result) mbps() float64 { return float64(r.bytes) / r.elapsed.Seconds() / 1e6 }

func (r result) pct(p float64) float64 {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat)-1) * p / 100)
	return float64(r.lat[i].Microseconds()) / 1000
}

// load runs `workers` loops of GET url for d and merges their results.
//
// With rate > 0 the load is open-loop: each worker sends at its share of
// the rate on a fixed timetable, and latency is measured from the planned
// send time, so a stalled server is not hidden by clients that wait
// (coordinated omission).
func load(client *http.Client, url string, workers int, d time.Duration, rate float64) result {
	deadline := time.Now().Add(d)
	// Requests still in flight 5 s after the phase are abandoned.
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(5*time.Second))
	defer cancel()
	results := make([]result, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int, res *result) {
			defer wg.Done()
			var interval time.Duration
			planned := start
			if rate > 0 {
				interval = time.Duration(float64(workers) / rate * float64(time.Second))
				planned = start.Add(interval * time.Duration(w) / time.Duration(workers))
			}
			for time.Now().Before(deadline) {
				t := time.Now()
				if rate > 0 {
					if wait := time.Until(planned); wait > 0 {
						time.Sleep(wait)
					}
					if !planned.Before(deadline) {
						break
					}
					t = planned
					planned = planned.Add(interval)
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				resp, err := client.Do(req)
				if err != nil {
					res.errors++
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
					continue
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				res.lat = append(res.lat, time.Since(t))
				res.n++
				res.bytes += n
				if err != nil || resp.StatusCode != http.StatusOK {
					res.errors++
					if res.firstErr == "" {
						res.firstErr = fmt.Sprintf("status %d err %v", resp.StatusCode, err)
					}
				}
			}
		}(w, &results[w])
	}
	wg.Wait()
	var all result
	all.elapsed = time.Since(start)
	for _, r := range results {
		all.n += r.n
		all.errors += r.errors
		all.bytes += r.bytes
		all.lat = append(all.lat, r.lat...)
		if all.firstErr == "" {
			all.firstErr = r.firstErr
		}
	}
	slices.Sort(all.lat)
	return all
}

// writeFixture writes a small published tree: a 10 KB home page, one
// release with a CSV of about size bytes, and latest -> releases/<id>.
func writeFixture(dir string, size int) error {
	id := "20261129T171502Z"
	rel := filepath.Join(dir, "releases", id)
	var page strings.Builder
	page.WriteString(`<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Budgets participatifs — tableau de bord</title><link rel="stylesheet" href="assets/site.css"></head><body><main><h1>Budgets participatifs</h1><table>`)
	for i := 0; page.Len() < 10_000; i++ {
		fmt.Fprintf(&page, "<tr><td>Projet %d</td><td>%d votes</td><td>%d €</td></tr>\n", i, i*37%1000, i*1500)
	}
	page.WriteString(`</table></main><script src="assets/app.js"></script></body></html>`)
	var csv strings.Builder
	csv.WriteString("source,proposal_id,title,votes_count\n")
	for i := 0; csv.Len() < size; i++ {
		fmt.Fprintf(&csv, "paris,UHJvcG9zYWw6%08d,Jardin partagé n°%d été 🌳,%d\n", i, i, i*7%500)
	}
	files := map[string]string{
		filepath.Join(dir, "site", "index.html"):         page.String(),
		filepath.Join(rel, "csv", "proposals.csv"):       csv.String(),
		filepath.Join(rel, "manifest.json"):              fmt.Sprintf(`{"release_id":%q,"created_at":%q,"previous_release_id":"","files":[]}`, id, time.Now().UTC().Format(time.RFC3339)),
		filepath.Join(dir, "site", "assets", "app.js"):   "console.log('capstat');\n",
		filepath.Join(dir, "site", "assets", "site.css"): "body{font-family:sans-serif}\n",
	}
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return os.Symlink(filepath.Join("releases", id), filepath.Join(dir, "latest"))
}

// reportCPU prints the process CPU time and, with the access log on, the
// CPU cost per request served (meaningful with -cpu-workers 0).
func reportCPU(accessLog string, cpuWorkers int) error {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	user := time.Duration(ru.Utime.Nano())
	sys := time.Duration(ru.Stime.Nano())
	fmt.Printf("server process CPU: user %s, system %s\n", user.Round(time.Millisecond), sys.Round(time.Millisecond))
	if run, wait, ok := schedWait(); ok {
		fmt.Printf("server threads: %s on a CPU, %s runnable but waiting for one (machine contention)\n",
			run.Round(time.Millisecond), wait.Round(time.Millisecond))
	}
	b, err := os.ReadFile(accessLog)
	if err != nil {
		return nil // access log off
	}
	n := bytes.Count(b, []byte("\n"))
	fmt.Printf("requests served: %d", n)
	if n > 0 && cpuWorkers == 0 {
		fmt.Printf(", CPU per request: %.1f µs", float64((user+sys).Microseconds())/float64(n))
	}
	fmt.Println()
	return nil
}

// schedWait sums /proc/self/task/*/schedstat: time on a CPU and time spent
// runnable in a run queue (Linux only).
func schedWait() (run, wait time.Duration, ok bool) {
	paths, _ := filepath.Glob("/proc/self/task/*/schedstat")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var r, w int64
		if _, err := fmt.Sscan(string(b), &r, &w); err != nil {
			continue
		}
		run += time.Duration(r)
		wait += time.Duration(w)
		ok = true
	}
	return run, wait, ok
}

// ingestUntilDone crawls a small in-process sandbox into a fresh DuckDB file
// again and again until ctx ends, like the daemon's ingest jobs, and
// returns the records written.
func ingestUntilDone(ctx context.Context, tmp string) (int64, error) {
	srv, err := sandbox.New(sandbox.Options{Seed: 1, Scale: sandbox.Small, Instances: []string{"landes", "gironde"}})
	if err != nil {
		return 0, err
	}
	api := httptest.NewServer(srv.Handler())
	defer api.Close()
	var records int64
	for i := 0; ctx.Err() == nil; i++ {
		db, err := duckdbx.Open(ctx, filepath.Join(tmp, fmt.Sprintf("ingest-%d.duckdb", i)))
		if err != nil {
			return records, err
		}
		rep, err := ingest.Ingest(ctx, db, []ingest.Source{
			{Name: "landes", Endpoint: api.URL + "/landes/graphql"},
			{Name: "gironde", Endpoint: api.URL + "/gironde/graphql"},
		}, ingest.Options{})
		if rep != nil {
			for _, s := range rep.Sources {
				records += s.Records()
			}
		}
		db.Close()
		if err != nil && ctx.Err() == nil {
			return records, err
		}
	}
	return records, ctx.Err()
}
