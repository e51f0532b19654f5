package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/capstat/capstat/internal/config"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/pipeline"
	"github.com/capstat/capstat/queries"
	"github.com/capstat/capstat/reports/release"
	"github.com/capstat/capstat/schedules"
)

// Job names of the daemon.
const (
	JobPipeline = "pipeline" // ingest all → transform → publish → dashboards
	JobPublish  = "publish"  // transform → publish → dashboards
	JobMirror   = "mirror"   // copy the releases to publish.mirror
)

// IngestJobName is the name of the ingest job of a source: its refresh
// on its schedule, incremental once a full sweep is complete.
func IngestJobName(source string) string { return "ingest-" + source }

// FullJobName is the name of the full sweep job of a source, on its
// full_schedule.
func FullJobName(source string) string { return "full-" + source }

// sourceJobs are the jobs of each source: the refresh (IngestJobName) on
// its schedule and the full sweep (FullJobName) on its full_schedule. Both
// write the working database, so they take the scheduler's pipeline lock
// and never run at the same time: a full sweep due while the refresh runs
// waits for it (queued), and the other way round.
func sourceJobs(c *config.Config, p *pipeline.Pipeline) []schedules.Job {
	full := *p // the same database, metrics and health
	full.Full = true
	var jobs []schedules.Job
	for _, s := range c.Sources {
		only := []string{s.Name}
		jobs = append(jobs,
			schedules.Job{Name: IngestJobName(s.Name), Spec: s.Schedule, Run: func(ctx context.Context) error {
				return p.Ingest(ctx, only)
			}},
			schedules.Job{Name: FullJobName(s.Name), Spec: s.FullSchedule, Run: func(ctx context.Context) error {
				return full.Ingest(ctx, only)
			}})
	}
	return jobs
}

// describeIngest gives the ingest metrics the pipeline reports their help
// and declares the freshness ages, computed at each scrape.
func describeIngest(m *Metrics) {
	for _, d := range [][3]string{
		{"capstat_ingest_requests_total", "counter", "GraphQL requests sent, by source and crawl mode (full, incremental)."},
		{"capstat_ingest_bytes_total", "counter", "Response bytes read, by source and crawl mode."},
		{"capstat_ingest_records_total", "counter", "Raw rows written, by source and crawl mode."},
		{"capstat_ingest_changed_total", "counter", "Raw rows new, modified, revived or deleted, by source and crawl mode."},
		{"capstat_ingest_deleted_total", "counter", "Raw rows marked deleted, by source and crawl mode."},
		{"capstat_ingest_retries_total", "counter", "Requests retried, by source and crawl mode."},
		{"capstat_ingest_errors_total", "counter", "Partial GraphQL errors, notes and failed tasks, by source and crawl mode."},
		{"capstat_ingest_refused_total", "counter", "Items the API answered with an error, by source and crawl mode."},
		{"capstat_ingest_duration_seconds_total", "counter", "Time spent crawling, by source and crawl mode."},
		{pipeline.MetricLastRefresh, "gauge", "End of the last complete ingest run of the source, either mode (Unix seconds)."},
		{pipeline.MetricLastFullSweep, "gauge", "Start of the last complete full sweep of the source (Unix seconds)."},
		{pipeline.MetricUnfinishedRun, "gauge", "Id of a run of the source that committed pages without completing (0 = none); publishing waits for it."},
	} {
		m.Describe(d[0], d[1], d[2])
	}
	m.Age("capstat_ingest_last_refresh_age_seconds", pipeline.MetricLastRefresh,
		"Seconds since the last complete ingest run of the source ended.")
	m.Age("capstat_ingest_last_full_sweep_age_seconds", pipeline.MetricLastFullSweep,
		"Seconds since the last complete full sweep of the source started: the staleness bound of what incremental refreshes cannot see.")
}

// Run is 'capstat serve': it opens the working database, schedules the
// pipeline (per source an ingest job and a full sweep job, the publish
// job, the manual whole pipeline), serves the published tree and the query API on c.Serve.Addr,
// and returns when ctx ends (after a graceful shutdown) or the server fails.
// On an empty output directory it runs the whole pipeline once at start; a
// source that does not answer is reported in /readyz and /metrics while the
// last release is served.
func Run(ctx context.Context, c *config.Config, log *slog.Logger) error {
	db, err := duckdbx.Open(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	metrics := NewMetrics()
	describeIngest(metrics)
	names := make([]string, len(c.Sources))
	for i, s := range c.Sources {
		names[i] = s.Name
	}
	health := NewSourceHealth(names...)
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
	qh := &queryHandler{out: c.Out, tables: tables, limits: QueryLimits(c), log: log}
	defer qh.close()
	afterPublish := func(ctx context.Context) error {
		if err := qh.reopen(ctx); err != nil {
			return err
		}
		if err := p.Dashboards(ctx); err != nil {
			return err
		}
		if c.Publish.Mirror != "" {
			// Its own job: a failing mirror never fails a publication,
			// and the job's schedule retries it.
			if err := sched.Trigger(JobMirror); err != nil && !errors.Is(err, schedules.ErrRunning) {
				log.Warn("mirror", "err", err)
			}
		}
		return nil
	}
	jobs := []schedules.Job{
		{Name: JobPipeline, Spec: "@manual", Run: func(ctx context.Context) error {
			if err := p.Ingest(ctx, nil); err != nil {
				return err
			}
			return publishAll(ctx, p, afterPublish)
		}},
		{Name: JobPublish, Spec: c.Publish.Schedule, Run: func(ctx context.Context) error {
			return publishAll(ctx, p, afterPublish)
		}},
	}
	if c.Publish.Mirror != "" {
		jobs = append(jobs, schedules.Job{Name: JobMirror, Spec: c.Publish.Schedule, Run: p.Mirror})
	}
	jobs = append(jobs, sourceJobs(c, p)...)
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
	srv, err := New(Options{
		Addr: c.Serve.Addr, OutDir: c.Out, Queries: qh, Scheduler: sched, Sources: health,
		AdminToken: os.Getenv(c.Serve.AdminTokenEnv), TLSCert: c.Serve.TLSCert, TLSKey: c.Serve.TLSKey,
		RateLimit: RateLimit{RPS: c.Serve.RateLimit}, Metrics: metrics, Logger: log,
		AccessLog: accessLog, StaleAfter: c.Publish.MaxAge.Duration,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := p.ObserveFreshness(ctx); err != nil {
		log.Warn("ingest freshness", "err", err)
	}
	sched.Start()
	// A source that does not answer shows at once in /readyz and /metrics;
	// the last release is served meanwhile.
	go p.Probe(ctx)
	if _, err := release.Current(c.Out); err != nil {
		if errors.Is(err, release.ErrNoRelease) {
			log.Info("no release yet: running the whole pipeline once", "out", c.Out)
		} else {
			log.Warn("current release unreadable: running the whole pipeline once", "out", c.Out, "err", err)
		}
		if err := sched.Trigger(JobPipeline); err != nil {
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

// QueryLimits are the query engine limits of c (queries.DefaultLimits
// overridden by the queries section).
func QueryLimits(c *config.Config) queries.Limits {
	lim := queries.DefaultLimits()
	lim.Timeout = c.Queries.Timeout.Duration
	lim.MemoryLimit = c.Queries.MemoryLimit
	lim.Threads = c.Queries.Threads
	lim.MaxRows = c.Queries.MaxRows
	return lim
}
