package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/capstat/capstat/ingest"
	"github.com/capstat/capstat/sandbox"
)

// Benchmarks (not run by go test without -bench):
//
//	go test ./ingest -run '^$' -bench Crawl -benchtime 1x -timeout 60m
//
// Environment: CAPSTAT_BENCH_SCALE (default medium), CAPSTAT_BENCH_INSTANCES
// (comma-separated, default "gironde": one source, so that "sequential" is one request at a time), CAPSTAT_BENCH_LATENCY (default 20ms).
func benchEnv(b *testing.B) (sandbox.Scale, []string, time.Duration) {
	scale, err := sandbox.ParseScale(envOr("CAPSTAT_BENCH_SCALE", "medium"))
	if err != nil {
		b.Fatal(err)
	}
	lat, err := time.ParseDuration(envOr("CAPSTAT_BENCH_LATENCY", "20ms"))
	if err != nil {
		b.Fatal(err)
	}
	return scale, strings.Split(envOr("CAPSTAT_BENCH_INSTANCES", "gironde"), ","), lat
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// recorder keeps the request bodies served, to replay them.
type recorder struct {
	h      http.Handler
	mu     sync.Mutex
	bodies []recorded
	on     bool
}

type recorded struct {
	path string
	body []byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.on {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		r.mu.Lock()
		r.bodies = append(r.bodies, recorded{req.URL.Path, b})
		r.mu.Unlock()
	}
	r.h.ServeHTTP(w, req)
}

func crawlOnce(b *testing.B, url string, names []string, concurrency int) (records int64, requests int64, d time.Duration) {
	b.Helper()
	db := openDB(b, filepath.Join(b.TempDir(), "bench.duckdb"))
	srcs := sourcesFor(url, names)
	for i := range srcs {
		srcs[i].Concurrency = concurrency
	}
	start := time.Now()
	cpu0 := cpuTime()
	defer func() { b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s") }()
	var opts ingest.Options
	if os.Getenv("CAPSTAT_BENCH_LOG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	rep, err := ingest.Ingest(context.Background(), db, srcs, opts)
	d = time.Since(start)
	if err != nil {
		b.Fatalf("ingest: %v", err)
	}
	for _, s := range rep.Sources {
		requests += s.Requests
	}
	for _, m := range liveCounts(b, db) {
		for _, n := range m {
			records += int64(n)
		}
	}
	return records, requests, d
}

// cpuTime is the user+system CPU time of the process so far: on a shared
// machine, the CPU a crawl costs is steadier than its wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkCrawl(b *testing.B) {
	scale, names, lat := benchEnv(b)
	for _, tc := range []struct {
		name        string
		concurrency int
		latency     time.Duration
	}{
		{"sequential/latency=" + lat.String(), 1, lat},
		{"inflight=4/latency=" + lat.String(), 4, lat},
		{"inflight=4/latency=0", 4, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ts := startSandbox(b, sandbox.Options{Seed: seed, Scale: scale, Instances: names, Latency: tc.latency})
			b.ResetTimer()
			for range b.N {
				records, requests, d := crawlOnce(b, ts.URL, names, tc.concurrency)
				b.ReportMetric(float64(records)/d.Seconds(), "records/s")
				b.ReportMetric(float64(requests)/d.Seconds(), "requests/s")
				b.ReportMetric(float64(records), "records")
			}
		})
	}
}

// BenchmarkSandboxCapacity replays the requests of one crawl against the
// sandbox (latency 0) with 8 concurrent clients: "discard" only reads the
// bodies (the records/s the sandbox itself can serve on this machine),
// "decode" also parses them (see replay).
func BenchmarkSandboxCapacity(b *testing.B) {
	scale, names, _ := benchEnv(b)
	srv, err := sandbox.New(sandbox.Options{Seed: seed, Scale: scale, Instances: names})
	if err != nil {
		b.Fatal(err)
	}
	rec := &recorder{h: srv.Handler(), on: true}
	ts := httptest.NewServer(rec)
	defer ts.Close()
	records, _, _ := crawlOnce(b, ts.URL, names, 4)
	rec.on = false
	workers, _ := strconv.Atoi(envOr("CAPSTAT_BENCH_REPLAY_WORKERS", "8"))
	// discard only reads the bodies: the sandbox's capacity. decode also
	// parses each body into generic Go values with encoding/json, the
	// least any Go client does with an answer: an upper bound for any
	// ingester on the same cores.
	for _, mode := range []string{"discard", "decode"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				replay(b, ts.URL, rec.bodies, workers, records, mode == "decode")
			}
		})
	}
}

// replay sends the recorded requests with that many concurrent clients and
// reports the records/s of the crawl they belong to.
func replay(b *testing.B, base string, bodies []recorded, workers int, records int64, decode bool) {
	start := time.Now()
	var wg sync.WaitGroup
	var served atomic.Int64
	next := make(chan recorded)
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	cl := &http.Client{Transport: tr}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				req, _ := http.NewRequest(http.MethodPost, base+r.path, bytes.NewReader(r.body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", ingest.PreviewAccept)
				resp, err := cl.Do(req)
				if err != nil {
					b.Error(err)
					continue
				}
				var n int64
				if decode {
					body, _ := io.ReadAll(resp.Body)
					var v any
					if err := json.Unmarshal(body, &v); err != nil {
						b.Errorf("replay %s: %v", r.path, err)
					}
					n = int64(len(body))
				} else {
					n, _ = io.Copy(io.Discard, resp.Body)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("replay %s: status %d", r.path, resp.StatusCode)
				}
				served.Add(n)
			}
		}()
	}
	for _, r := range bodies {
		next <- r
	}
	close(next)
	wg.Wait()
	d := time.Since(start)
	b.ReportMetric(float64(records)/d.Seconds(), "records/s")
	b.ReportMetric(float64(len(bodies))/d.Seconds(), "requests/s")
	b.ReportMetric(float64(served.Load())/d.Seconds()/1e6, "MB/s")
}
