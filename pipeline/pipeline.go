// Package pipeline wires capstat's stages — ingest, transform, publish,
// dashboards — from a configuration. Each stage opens the working database
// itself (one writer: the pipeline), and readers only ever see a complete
// release.
package pipeline

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/capstat/capstat/dashboards"
	"github.com/capstat/capstat/ingest"
	"github.com/capstat/capstat/internal/config"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/queries"
	"github.com/capstat/capstat/reports"
	"github.com/capstat/capstat/reports/mirror"
	"github.com/capstat/capstat/reports/release"
	"github.com/capstat/capstat/transform"
)

// Pipeline runs the stages for one configuration.
type Pipeline struct {
	Config   *config.Config
	Logger   *slog.Logger
	Progress io.Writer // live ingest progress (a terminal) or nil
	Summary  io.Writer // the ingest summary table (nil: logged)
	// DB, when set, is the already-open working database (the daemon keeps
	// one); otherwise each stage opens and closes Config.Database.
	DB *sql.DB
	// Metrics, when set, receives counters: records, requests, retries and
	// errors per source, and stage durations.
	Metrics Metrics
	// Health, when set, receives the outcome of every contact with each
	// source (its ingest, or Probe).
	Health SourceHealth
	// Full makes Ingest (and Run) sweep every selected source in full
	// (ingest.Options.Full); otherwise a source whose database holds a
	// complete full sweep is refreshed incrementally.
	Full bool
}

// SourceHealth is the part of a source-health registry the pipeline feeds.
type SourceHealth interface {
	Report(source string, err error)
}

// Metrics is the part of a metrics registry the pipeline feeds.
type Metrics interface {
	Add(name string, labels map[string]string, v float64)
	Set(name string, labels map[string]string, v float64)
}

func (p *Pipeline) observe(stage string, start time.Time) {
	if p.Metrics != nil {
		p.Metrics.Set("capstat_stage_last_duration_seconds", map[string]string{"stage": stage}, time.Since(start).Seconds())
	}
}

func (p *Pipeline) observeIngest(rep *ingest.Report) {
	if p.Metrics == nil || rep == nil {
		return
	}
	for _, s := range rep.Sources {
		mode := s.Mode
		if mode == "" {
			mode = "unknown" // the source failed before its run started
		}
		l := map[string]string{"source": s.Source, "mode": mode}
		var deleted int64
		for _, e := range s.Entities {
			deleted += e.Deleted
		}
		p.Metrics.Add("capstat_ingest_records_total", l, float64(s.Records()))
		p.Metrics.Add("capstat_ingest_changed_total", l, float64(s.Changed()))
		p.Metrics.Add("capstat_ingest_deleted_total", l, float64(deleted))
		p.Metrics.Add("capstat_ingest_requests_total", l, float64(s.Requests))
		p.Metrics.Add("capstat_ingest_bytes_total", l, float64(s.Bytes))
		p.Metrics.Add("capstat_ingest_retries_total", l, float64(s.Retries))
		p.Metrics.Add("capstat_ingest_errors_total", l, float64(s.Errors))
		p.Metrics.Add("capstat_ingest_refused_total", l, float64(s.RefusedCount()))
		p.Metrics.Add("capstat_ingest_duration_seconds_total", l, s.Duration.Seconds())
	}
}

// Freshness metrics (gauges per source, from ingest.ReadFreshness).
const (
	MetricLastRefresh   = "capstat_ingest_last_refresh_timestamp_seconds"    // end of the last complete run
	MetricLastFullSweep = "capstat_ingest_last_full_sweep_timestamp_seconds" // start of the last complete full sweep
	MetricUnfinishedRun = "capstat_ingest_unfinished_run"                    // id of a partly refreshed run (0 = none)
)

// ObserveFreshness sets the freshness gauges of every configured source
// from the working database (nothing without Metrics).
func (p *Pipeline) ObserveFreshness(ctx context.Context) error {
	if p.Metrics == nil {
		return nil
	}
	return p.withDB(ctx, func(db *sql.DB) error { return p.observeFreshness(ctx, db) })
}

func (p *Pipeline) observeFreshness(ctx context.Context, db *sql.DB) error {
	if p.Metrics == nil {
		return nil
	}
	fr, err := ingest.ReadFreshness(ctx, db)
	if err != nil {
		return err
	}
	for _, s := range p.Config.Sources {
		f, ok := fr[s.Name]
		if !ok {
			continue // never ingested
		}
		l := map[string]string{"source": s.Name}
		if !f.LastRefresh.IsZero() {
			p.Metrics.Set(MetricLastRefresh, l, unixSeconds(f.LastRefresh))
		}
		if !f.LastFull.IsZero() {
			p.Metrics.Set(MetricLastFullSweep, l, unixSeconds(f.LastFull))
		}
		p.Metrics.Set(MetricUnfinishedRun, l, float64(f.Unfinished))
	}
	return nil
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// Stage names, in order.
const (
	StageIngest     = "ingest"
	StageTransform  = "transform"
	StagePublish    = "publish"
	StageDashboards = "dashboards"
	StageMirror     = "mirror"
)

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return p.Logger
}

// withDB runs fn on the working database.
func (p *Pipeline) withDB(ctx context.Context, fn func(*sql.DB) error) error {
	if p.DB != nil {
		return fn(p.DB)
	}
	db, err := duckdbx.Open(ctx, p.Config.Database)
	if err != nil {
		return err
	}
	err = fn(db)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", p.Config.Database, cerr)
	}
	return err
}

// Run runs every stage in order and stops at the first failure, leaving
// the current release in place.
func (p *Pipeline) Run(ctx context.Context) error {
	start := time.Now()
	if err := p.Ingest(ctx, nil); err != nil {
		return err
	}
	if err := p.Transform(ctx); err != nil {
		return err
	}
	if _, err := p.Publish(ctx); err != nil {
		return err
	}
	if err := p.Dashboards(ctx); err != nil {
		return err
	}
	if err := p.Mirror(ctx); err != nil {
		return fmt.Errorf("release published, mirror failed: %w", err)
	}
	p.logger().Info("pipeline done", "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// Ingest crawls the configured sources (or only those named): in full
// when p.Full is set or a source has no complete full sweep yet,
// incrementally otherwise. Each source's mode is in the summary.
func (p *Pipeline) Ingest(ctx context.Context, only []string) error {
	if len(p.Config.Sources) == 0 {
		return errors.New("ingest: no source configured (use --config or --source NAME=URL)")
	}
	sources := p.sources()
	defer p.observe(StageIngest, time.Now())
	return p.withDB(ctx, func(db *sql.DB) error {
		rep, err := ingest.Ingest(ctx, db, sources, ingest.Options{Logger: p.logger(), Progress: p.Progress, Only: only, MemoryLimit: p.Config.Ingest.MemoryLimit, Full: p.Full})
		if rep != nil {
			if p.Summary != nil {
				fmt.Fprintln(p.Summary, rep.String())
			} else {
				p.logger().Info("ingest summary", "report", rep.String())
			}
			p.observeIngest(rep)
			if p.Health != nil {
				for _, s := range rep.Sources {
					p.Health.Report(s.Source, s.Err)
				}
			}
		}
		if ferr := p.observeFreshness(ctx, db); ferr != nil && ctx.Err() == nil {
			p.logger().Warn("ingest freshness", "err", ferr)
		}
		return err
	})
}

// sources are the configured sources as ingest takes them.
func (p *Pipeline) sources() []ingest.Source {
	sources := make([]ingest.Source, 0, len(p.Config.Sources))
	for _, s := range p.Config.Sources {
		sources = append(sources, ingest.Source{
			Name: s.Name, Endpoint: s.Endpoint, Timezone: s.Timezone, Token: s.Token(),
			Locales: s.Locales, Concurrency: s.Concurrency, RequestsPerSecond: s.RequestsPerSecond,
			PageSize: s.PageSize, Timeout: s.Timeout.Duration, MaxAttempts: s.MaxAttempts,
		})
	}
	return sources
}

// Probe contacts every configured source once, concurrently (ingest.Probe),
// reports each outcome to Health and logs the failures. It returns when
// all have answered or timed out.
func (p *Pipeline) Probe(ctx context.Context) {
	var wg sync.WaitGroup
	for _, src := range p.sources() {
		wg.Go(func() {
			err := ingest.Probe(ctx, src, nil)
			if err != nil {
				p.logger().Warn("source unreachable", "source", src.Name, "err", err)
			}
			if p.Health != nil {
				p.Health.Report(src.Name, err)
			}
		})
	}
	wg.Wait()
}

// Transform runs the SQL models and their data tests.
func (p *Pipeline) Transform(ctx context.Context) error {
	secret, err := AuthorKeySecret(p.Config.Privacy.AuthorKeySecretFile)
	if err != nil {
		return err
	}
	opts := transform.Options{AuthorKeySecret: secret, Logger: p.logger()}
	for _, s := range p.Config.Sources {
		m := transform.SourceMeta{
			Name: s.Name, CollectivityCode: s.Collectivity.Code, CollectivityKind: s.Collectivity.Kind,
			CollectivityName: s.Collectivity.Name, Population: s.Collectivity.Population,
			PopulationYear: s.Collectivity.PopulationYear,
			WinnerStatuses: s.WinnerStatuses, CostQuestion: s.CostQuestion,
		}
		for _, pm := range s.Projects {
			m.Projects = append(m.Projects, transform.ProjectMeta{
				ProjectID: pm.ID, Edition: pm.Edition, EnvelopeEUR: pm.EnvelopeEUR,
				ExerciseModel: pm.Model, WinnerStatuses: pm.WinnerStatuses,
			})
		}
		opts.Sources = append(opts.Sources, m)
	}
	defer p.observe(StageTransform, time.Now())
	return p.withDB(ctx, func(db *sql.DB) error {
		if err := p.checkFinished(ctx, db); err != nil {
			return err
		}
		rep, err := transform.Run(ctx, db, opts)
		if rep != nil {
			p.logger().Info("transform report", "report", rep.String())
		}
		return err
	})
}

// checkFinished refuses a transform while a configured source is partly
// refreshed (a run that committed pages but did not complete): its raw
// tables mix two states of the platform, and publishing them would show
// it. Transform is the one door to the tables every release is written
// from, so `capstat run`, `capstat transform` then `publish` and the
// daemon's publish job all keep the current release.
func (p *Pipeline) checkFinished(ctx context.Context, db *sql.DB) error {
	fr, err := ingest.ReadFreshness(ctx, db)
	if err != nil {
		return fmt.Errorf("transform: %w", err)
	}
	var errs []error
	for _, s := range p.Config.Sources {
		if f := fr[s.Name]; f.Unfinished != 0 {
			errs = append(errs, fmt.Errorf("source %s: run %d is unfinished (it resumes at the next ingest); the current release is kept", s.Name, f.Unfinished))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("transform refused: %w", errors.Join(errs...))
	}
	return nil
}

// Publish writes a release of the transformed data and makes it current.
func (p *Pipeline) Publish(ctx context.Context) (*reports.Published, error) {
	c := p.Config
	opts := reports.Options{
		OutDir: c.Out, Retention: c.Publish.Retention, Licence: c.Publish.Licence,
		Privacy: reports.Privacy{CoarsenVoteTimes: !c.Privacy.ExactVoteTimes, MinGroupSize: c.Privacy.MinGroupSize},
		Logger:  p.logger(),
	}
	for _, s := range c.Sources {
		opts.Sources = append(opts.Sources, reports.SourceInfo{Name: s.Name, Endpoint: s.Endpoint})
	}
	if c.Publish.DCAT {
		pub := c.Publish.Publisher
		opts.DCAT = &reports.DCAT{BaseURL: c.Publish.BaseURL, PublisherName: pub.Name, PublisherURL: pub.URL,
			ContactName: pub.ContactName, ContactEmail: pub.ContactEmail}
	}
	defer p.observe(StagePublish, time.Now())
	var rel *reports.Published
	err := p.withDB(ctx, func(db *sql.DB) error {
		// The data of each source is as of its last complete crawl
		// (transform refuses a partly refreshed source).
		fr, err := ingest.ReadFreshness(ctx, db)
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		for i, s := range opts.Sources {
			opts.Sources[i].DataAsOf = fr[s.Name].LastRefresh
		}
		rel, err = reports.Publish(ctx, db, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	p.logger().Info("release published", "id", rel.ID, "dir", rel.Dir)
	return rel, nil
}

// Mirror copies the live releases to the configured S3 mirror
// (publish.mirror; nothing when none). Its outcome goes to the metrics.
func (p *Pipeline) Mirror(ctx context.Context) error {
	c := p.Config.Publish
	if c.Mirror == "" {
		return nil
	}
	defer p.observe(StageMirror, time.Now())
	t, err := mirror.ParseTarget(c.Mirror, c.MirrorEndpoint, c.MirrorRegion)
	if err != nil {
		return err
	}
	st, err := mirror.Mirror(ctx, p.Config.Out, t, p.logger())
	if p.Metrics != nil {
		if err != nil {
			p.Metrics.Add("capstat_mirror_failures_total", nil, 1)
		} else {
			p.Metrics.Set("capstat_mirror_last_success_timestamp_seconds", nil, float64(time.Now().Unix()))
		}
		p.Metrics.Add("capstat_mirror_uploaded_bytes_total", nil, float64(st.Bytes))
	}
	return err
}

// Dashboards renders the site from the current release.
func (p *Pipeline) Dashboards(ctx context.Context) error {
	defer p.observe(StageDashboards, time.Now())
	cat, err := queries.LoadCatalog()
	if err != nil {
		return err
	}
	var links []dashboards.QueryLink
	for _, q := range cat.Queries() {
		links = append(links, dashboards.QueryLink{Name: q.Name, Title: q.Title})
	}
	_, err = dashboards.Render(ctx, dashboards.Options{
		ReleaseDir: release.LatestDir(p.Config.Out),
		SiteDir:    filepath.Join(p.Config.Out, release.SiteDir),
		MaxAge:     p.Config.Publish.MaxAge.Duration,
		Logger:     p.logger(),
		Queries:    links,
	})
	return err
}

// AuthorKeySecret reads the HMAC secret used for author keys, creating a
// random one (mode 0600) on first use. It lives outside every release.
func AuthorKeySecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 16 {
			return nil, fmt.Errorf("author key secret %s: too short (%d bytes, want ≥ 16)", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("author key secret: %w", err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("author key secret: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("author key secret: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) { // created concurrently
			return AuthorKeySecret(path)
		}
		return nil, fmt.Errorf("author key secret: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("author key secret: %w", err)
	}
	return b, f.Close()
}
