package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/capstat/capstat/internal/apierror"
	"github.com/capstat/capstat/internal/config"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/internal/pipeline"
	"github.com/capstat/capstat/internal/server"
	"github.com/capstat/capstat/queries"
	"github.com/capstat/capstat/reports"
	"github.com/capstat/capstat/schedules"
)

// Job names of the daemon.
const (
	jobPipeline = "pipeline" // ingest all → transform → publish → dashboards
	jobPublish  = "publish"  // transform → publish → dashboards
)

func ingestJobName(source string) string { return "ingest-" + source }

func newServeCmd(g *globals) *cobra.Command {
	var addr, schedule string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Daemon: scheduled ingest/publish and the HTTP server (site, downloads, API)",
		Long: `Starts the scheduler and the HTTP server in one process. Runs the whole
pipeline once at start when no release exists yet. Per-source ingest jobs run
on each source's schedule, the publish job (transform → publish → dashboards)
on publish.schedule. SIGTERM stops accepting requests, interrupts the running
job at a checkpoint and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.config()
			if err != nil {
				return err
			}
			if addr != "" {
				c.Serve.Addr = addr
			}
			if schedule != "" {
				if err := config.CheckSchedule(schedule); err != nil {
					return fmt.Errorf("--schedule: %w", err)
				}
				for i := range c.Sources {
					c.Sources[i].Schedule = schedule
				}
				c.Publish.Schedule = schedule
			}
			return serve(cmd.Context(), g, c)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address HOST:PORT (default serve.addr, 127.0.0.1:8080)")
	cmd.Flags().StringVar(&schedule, "schedule", "", "cron schedule (seconds optional) of every source and of publishing, overriding the config")
	return cmd
}

func serve(ctx context.Context, g *globals, c *config.Config) error {
	log := g.logger
	db, err := duckdbx.Open(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	metrics := server.NewMetrics()
	names := make([]string, len(c.Sources))
	for i, s := range c.Sources {
		names[i] = s.Name
	}
	health := server.NewSourceHealth(names...)
	p := &pipeline.Pipeline{Config: c, Logger: log, DB: db, Metrics: metrics, Health: health}
	sched, err := schedules.New(ctx, schedules.Options{DB: db, Logger: log})
	if err != nil {
		return err
	}
	// The query engine's private copies of releases live next to the
	// working database, named after it: this process holds that database
	// open, so no other daemon uses them, and what a killed daemon left
	// there is deleted now (the engine creates the folder again).
	tables := c.Database + ".query-tables"
	if err := os.RemoveAll(tables); err != nil {
		return fmt.Errorf("query tables: %w", err)
	}
	qh := &queryHandler{out: c.Out, tables: tables, limits: queryLimits(c), log: log}
	defer qh.close()
	afterPublish := func(ctx context.Context) error {
		if err := qh.reopen(ctx); err != nil {
			return err
		}
		return p.Dashboards(ctx)
	}
	jobs := []schedules.Job{
		{Name: jobPipeline, Spec: "@manual", Run: func(ctx context.Context) error {
			if err := p.Ingest(ctx, nil); err != nil {
				return err
			}
			return publishAll(ctx, p, afterPublish)
		}},
		{Name: jobPublish, Spec: c.Publish.Schedule, Run: func(ctx context.Context) error {
			return publishAll(ctx, p, afterPublish)
		}},
	}
	for _, s := range c.Sources {
		name := s.Name
		jobs = append(jobs, schedules.Job{Name: ingestJobName(name), Spec: s.Schedule, Run: func(ctx context.Context) error {
			return p.Ingest(ctx, []string{name})
		}})
	}
	for _, j := range jobs {
		if err := sched.Add(j); err != nil {
			return fmt.Errorf("schedule %s: %w", j.Name, err)
		}
	}
	var accessLog io.Writer
	switch c.Serve.AccessLog {
	case "":
	case "-":
		accessLog = os.Stderr
	default:
		f, err := os.OpenFile(c.Serve.AccessLog, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
		if err != nil {
			return fmt.Errorf("access log: %w", err)
		}
		defer f.Close()
		accessLog = f
	}
	srv, err := server.New(server.Options{
		Addr: c.Serve.Addr, OutDir: c.Out, Queries: qh, Scheduler: sched, Sources: health,
		AdminToken: os.Getenv(c.Serve.AdminTokenEnv), TLSCert: c.Serve.TLSCert, TLSKey: c.Serve.TLSKey,
		RateLimit: server.RateLimit{RPS: c.Serve.RateLimit}, Metrics: metrics, Logger: log,
		AccessLog: accessLog, StaleAfter: c.Publish.MaxAge.Duration,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	sched.Start()
	// A source that does not answer shows at once in /readyz and /metrics;
	// the last release is served meanwhile.
	go p.Probe(ctx)
	if _, err := reports.Current(c.Out); err != nil {
		if errors.Is(err, reports.ErrNoRelease) {
			log.Info("no release yet: running the whole pipeline once", "out", c.Out)
		} else {
			log.Warn("current release unreadable: running the whole pipeline once", "out", c.Out, "err", err)
		}
		if err := sched.Trigger(jobPipeline); err != nil {
			log.Warn("initial pipeline run", "err", err)
		}
	} else {
		// The site and downloads do not wait for the query engine to load
		// the release (/api answers 503 meanwhile).
		go func() {
			if err := qh.reopen(ctx); err != nil && ctx.Err() == nil {
				log.Warn("query engine", "err", err)
			}
		}()
	}
	log.Info("serving", "addr", c.Serve.Addr, "out", c.Out, "jobs", len(jobs))
	return srv.ListenAndServe(ctx)
}

// publishAll runs transform → publish → then.
func publishAll(ctx context.Context, p *pipeline.Pipeline, then func(context.Context) error) error {
	if err := p.Transform(ctx); err != nil {
		return err
	}
	if _, err := p.Publish(ctx); err != nil {
		return err
	}
	return then(ctx)
}

func queryLimits(c *config.Config) queries.Limits {
	lim := queries.DefaultLimits()
	lim.Timeout = c.Queries.Timeout.Duration
	lim.MemoryLimit = c.Queries.MemoryLimit
	lim.Threads = c.Queries.Threads
	lim.MaxRows = c.Queries.MaxRows
	return lim
}

// queryHandler serves the query API of the current release; it answers 503
// until a release exists and follows each new release. Its engine loads
// each release's datasets into tables (queries.LoadTables, under tables):
// a server answers many queries per release, so the copy pays for itself.
type queryHandler struct {
	out    string
	tables string // directory of the engine's private copies
	limits queries.Limits
	log    *slog.Logger

	reopening sync.Mutex // one reopen at a time
	mu        sync.RWMutex
	engine    *queries.Engine
	h         http.Handler
}

// reopen opens the current release, or switches the engine to it when
// latest moved. Queries keep being answered (on the previous release)
// while the new one loads.
func (q *queryHandler) reopen(ctx context.Context) error {
	path := filepath.Join(q.out, "latest", "capstat.duckdb")
	q.reopening.Lock()
	defer q.reopening.Unlock()
	q.mu.RLock()
	e := q.engine
	q.mu.RUnlock()
	if e != nil {
		_, err := e.ReopenIfChanged(ctx, path)
		return err
	}
	t0 := time.Now()
	e, err := queries.Open(ctx, path, q.limits, queries.LoadTables(q.tables))
	if err != nil {
		return err
	}
	q.log.Info("serve: query engine opened", "snapshot", e.SnapshotPath(), "elapsed", time.Since(t0))
	q.mu.Lock()
	q.engine, q.h = e, queries.Handler(e, queries.HandlerOptions{Logger: q.log})
	q.mu.Unlock()
	return nil
}

func (q *queryHandler) close() {
	q.reopening.Lock()
	defer q.reopening.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.engine != nil {
		q.engine.Close()
	}
}

func (q *queryHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q.mu.RLock()
	h := q.h
	q.mu.RUnlock()
	if h == nil {
		w.Header().Set("Retry-After", "30")
		apierror.Write(w, apierror.New(http.StatusServiceUnavailable, "no_release", "aucune publication disponible pour le moment"))
		return
	}
	h.ServeHTTP(w, r)
}

func newJobsCmd(g *globals) *cobra.Command {
	var limit int
	var addr string
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Show the daemon's job history",
		Long: `Asks the running daemon (GET /api/jobs on --addr, default serve.addr); when
no daemon answers there, reads the history stored in the working database.
While a daemon holds that database, only the daemon can answer: give its
--addr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.config()
			if err != nil {
				return err
			}
			if addr == "" {
				addr = c.Serve.Addr
			}
			base := addr
			if !strings.Contains(base, "://") {
				base = "http://" + base
			}
			runs, derr := jobsFromDaemon(cmd.Context(), base, limit)
			if derr != nil {
				g.logger.Debug("daemon not reachable, reading the database", "addr", addr, "err", derr)
				var err error
				if runs, err = jobsFromDB(cmd.Context(), c.Database, limit); err != nil {
					if duckdbx.IsLocked(err) {
						return fmt.Errorf("no daemon answers on %s (%v), and the working database %s is held by another process: a daemon running elsewhere? Ask it with --addr HOST:PORT", addr, derr, c.Database)
					}
					return err
				}
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tJOB\tTRIGGER\tSTATUS\tQUEUED\tDURATION\tERROR")
			for _, r := range runs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.1fs\t%s\n", r.ID, r.Job, r.Trigger, r.Status,
					r.QueuedAt.Local().Format(time.DateTime), r.DurationSec, r.Error)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "number of runs")
	cmd.Flags().StringVar(&addr, "addr", "", "the daemon's address HOST:PORT, as given to serve (default serve.addr, 127.0.0.1:8080)")
	return cmd
}

func jobsFromDaemon(ctx context.Context, base string, limit int) ([]schedules.Run, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/jobs?limit=%d", base, limit), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/jobs: %s", resp.Status)
	}
	var body struct {
		Runs []schedules.Run `json:"runs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET /api/jobs: %w", err)
	}
	return body.Runs, nil
}

func jobsFromDB(ctx context.Context, path string, limit int) ([]schedules.Run, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no daemon reachable and no working database at %s", path)
	}
	db, err := duckdbx.OpenReadOnly(ctx, path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	runs, err := schedules.ReadHistory(ctx, db, limit)
	if err != nil {
		return nil, fmt.Errorf("job history in %s: %w", path, err)
	}
	return runs, nil
}
