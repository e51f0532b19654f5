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
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
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
	memLimit := fs.String("duckdb-memory-limit", "128MB", "DuckDB memory_limit ('' = DuckDB default)")
	threads := fs.Int("duckdb-threads", 0, "DuckDB threads (0 = DuckDB default)")
	verbose := fs.Bool("v", false, "log to stderr")
	fs.Parse(args)
	ctx := context.Background()
	os.Remove(*dbPath)
	os.Remove(*dbPath + ".wal")
	db, err := duckdbx.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if *memLimit != "" {
		if _, err := db.ExecContext(ctx, "SET memory_limit = '"+*memLimit+"'"); err != nil {
			return err
		}
	}
	if *threads > 0 {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("SET threads = %d", *threads)); err != nil {
			return err
		}
	}
	var srcs []ingest.Source
	for _, n := range strings.Split(*instances, ",") {
		srcs = append(srcs, ingest.Source{Name: n, Endpoint: *url + "/" + n + "/graphql", Concurrency: *conc})
	}
	opts := ingest.Options{Progress: os.Stderr}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	t0 := time.Now()
	rep, err := ingest.Ingest(ctx, db, srcs, opts)
	d := time.Since(t0)
	if err != nil {
		return err
	}
	var records, requests, retries int64
	for _, s := range rep.Sources {
		records += s.Records()
		requests += s.Requests
		retries += s.Retries
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Print(rep)
	fmt.Printf("records %d, requests %d, retries %d, %s: %.0f records/s, %.1f requests/s, peak RSS %.1f MB (Go runtime holds %.1f MB)\n",
		records, requests, retries, d.Round(time.Millisecond), float64(records)/d.Seconds(), float64(requests)/d.Seconds(), float64(ru.Maxrss)/1024, float64(ms.Sys)/(1<<20))
	return nil
}
