// Command ingestbench measures the ingester against the sandbox with the two
// in separate processes, so that the ingester's peak RSS is its own:
//
//	ingestbench serve -scale large -addr 127.0.0.1:8099 -latency 0
//	ingestbench crawl -url http://127.0.0.1:8099 -instances gironde,landes -db /tmp/b.duckdb
//
// run.sh wires both. crawl prints records/s, requests and peak RSS (getrusage).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/capstat/capstat/ingest"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/sandbox"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ingestbench serve|crawl [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "crawl":
		err = crawl(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	scale := fs.String("scale", "medium", "sandbox scale")
	addr := fs.String("addr", "127.0.0.1:8099", "listen address")
	latency := fs.Duration("latency", 0, "added latency per request")
	seed := fs.Int64("seed", 42, "generator seed")
	instances := fs.String("instances", "", "comma-separated instances (default all)")
	fs.Parse(args)
	sc, err := sandbox.ParseScale(*scale)
	if err != nil {
		return err
	}
	opts := sandbox.Options{Seed: *seed, Scale: sc, Latency: *latency}
	if *instances != "" {
		opts.Instances = strings.Split(*instances, ",")
	}
	t0 := time.Now()
	srv, err := sandbox.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("serving %s scale on http://%s (generated in %s)\n", sc, ln.Addr(), time.Since(t0).Round(time.Millisecond))
	hs := &http.Server{Handler: srv.Handler()}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
		<-ch
		hs.Close()
	}()
	if err := hs.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func crawl(args []string) error {
	fs := flag.NewFlagSet("crawl", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8099", "sandbox base URL")
	instances := fs.String("instances", "gironde,landes", "comma-separated instances")
	dbPath := fs.String("db", "/tmp/ingestbench.duckdb", "DuckDB file (removed first)")
	conc := fs.Int("concurrency", 4, "requests in flight per source")
	memLimit := fs.String("duckdb-memory-limit", "", "DuckDB memory_limit during the crawl ('' = the ingester's default, keep = DuckDB's)")
	sets := fs.String("duckdb-set", "", "DuckDB settings, name=value[,name=value…] (e.g. threads=1)")
	verbose := fs.Bool("v", false, "log to stderr")
	keep := fs.Bool("keep", false, "keep the database: refresh it (incremental unless -full)")
	full := fs.Bool("full", false, "force a full sweep")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the crawl to this file")
	floor := fs.Bool("floor", false, "then replay the crawl's requests with a client that only decodes the answers into Go values, and compare CPU per record")
	fs.Parse(args)
	ctx := context.Background()
	if os.Getenv("GOMEMLIMIT") == "" { // as `capstat ingest`
		debug.SetMemoryLimit(ingest.GoMemoryLimit)
	}
	if !*keep {
		os.Remove(*dbPath)
		os.Remove(*dbPath + ".wal")
	}
	db, err := duckdbx.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	if *sets != "" {
		var settings [][2]string
		for _, kv := range strings.Split(*sets, ",") {
			k, v, _ := strings.Cut(kv, "=")
			settings = append(settings, [2]string{k, v})
		}
		if _, err := duckdbx.Set(ctx, db, settings); err != nil {
			return err
		}
	}
	var srcs []ingest.Source
	for _, n := range strings.Split(*instances, ",") {
		srcs = append(srcs, ingest.Source{Name: n, Endpoint: *url + "/" + n + "/graphql", Concurrency: *conc})
	}
	opts := ingest.Options{Progress: os.Stderr, MemoryLimit: *memLimit, Full: *full}
	var rec *recorder
	if *floor {
		var err error
		if rec, err = newRecorder(http.DefaultTransport); err != nil {
			return err
		}
		opts.HTTPClient = &http.Client{Transport: rec}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := cpuTime()
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	t0 := time.Now()
	stop := make(chan struct{})
	peak := make(chan memSample)
	go sampleMemory(ctx, db, stop, peak)
	rep, err := ingest.Ingest(ctx, db, srcs, opts)
	d := time.Since(t0)
	cpu := cpuTime() - cpu0
	close(stop)
	pk := <-peak
	if err != nil {
		return err
	}
	var records, requests, retries, bytes int64
	modes := map[string]bool{}
	for _, s := range rep.Sources {
		records += s.Records()
		requests += s.Requests
		retries += s.Retries
		bytes += s.Bytes
		modes[s.Mode] = true
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Print(rep)
	fmt.Printf("records %d, requests %d, retries %d, %s: %.0f records/s, %.1f requests/s, peak RSS %.1f MB (Go runtime holds %.1f MB)\n",
		records, requests, retries, d.Round(time.Millisecond), float64(records)/d.Seconds(), float64(requests)/d.Seconds(), float64(ru.Maxrss)/1024, float64(ms.Sys)/(1<<20))
	fmt.Printf("at the highest sampled RSS (%.1f MB): anonymous %.1f MB, file-backed %.1f MB; Go heap in use %.1f MB, Go runtime %.1f MB; DuckDB buffer manager %.1f MB\n",
		pk.rss/1e6, pk.anon/1e6, pk.file/1e6, pk.goHeap/1e6, pk.goSys/1e6, pk.duck/1e6)
	fmt.Printf("  Go memory not released to the OS %.1f MB; DuckDB by tag: %s\n", pk.goRSS/1e6, pk.tags.String)
	fmt.Printf("  C heap (glibc): %.1f MB from the system, %.1f MB in use, %.1f MB free\n", pk.cSystem/1e6, pk.cInUse/1e6, pk.cFree/1e6)
	var ms2 []string
	for m := range modes {
		ms2 = append(ms2, m)
	}
	fmt.Printf("RESULT mode=%s requests=%d bytes=%d records=%d wall_s=%.2f cpu_s=%.2f cpu_us_per_record=%.2f peak_rss_mib=%.1f\n",
		strings.Join(ms2, "+"), requests, bytes, records, d.Seconds(), cpu.Seconds(), perRecord(cpu, records), float64(ru.Maxrss)/1024)
	if rec != nil {
		fcpu, err := rec.replay(*conc * len(srcs))
		if err != nil {
			return err
		}
		fmt.Printf("RESULT floor: the same %d requests replayed, answers only decoded into Go values: cpu_s=%.2f cpu_us_per_record=%.2f; ingest/floor CPU = %.2f\n",
			rec.n, fcpu.Seconds(), perRecord(fcpu, records), cpu.Seconds()/fcpu.Seconds())
	}
	return nil
}

func perRecord(d time.Duration, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// memSample is one reading of where the process's memory is.
type memSample struct {
	rss, anon, file, goHeap, goSys, goRSS, duck float64 // bytes
	cSystem, cInUse, cFree                      float64 // glibc malloc: from the system, in use, free
	tags                                        sql.NullString
}

// sampleMemory reads the process's memory every 200 ms until stop is
// closed, then sends the sample with the highest RSS.
func sampleMemory(ctx context.Context, db *sql.DB, stop <-chan struct{}, out chan<- memSample) {
	var best memSample
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			out <- best
			return
		case <-t.C:
		}
		var s memSample
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			var kb float64
			fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
			switch k {
			case "VmRSS":
				s.rss = kb * 1024
			case "RssAnon":
				s.anon = kb * 1024
			case "RssFile":
				s.file = kb * 1024
			}
		}
		if s.rss <= best.rss {
			continue
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s.goHeap, s.goSys = float64(ms.HeapInuse), float64(ms.Sys)
		s.cSystem, s.cInUse, s.cFree = cHeap()
		var duck sql.NullFloat64
		_ = db.QueryRowContext(ctx, "SELECT sum(memory_usage_bytes) FROM duckdb_memory()").Scan(&duck)
		s.duck = duck.Float64
		s.goRSS = float64(ms.HeapSys - ms.HeapReleased + ms.StackSys + ms.MSpanSys + ms.MCacheSys + ms.GCSys + ms.OtherSys + ms.BuckHashSys)
		_ = db.QueryRowContext(ctx, "SELECT string_agg(tag || ' ' || (memory_usage_bytes // 1000000) || ' MB', ', ') FROM duckdb_memory() WHERE memory_usage_bytes >= 1000000").Scan(&s.tags)
		best = s
	}
}
