package daemon

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/config"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/pipeline"
	"github.com/capstat/capstat/sandbox"
	"github.com/capstat/capstat/schedules"
)

// An age is computed at each scrape from its timestamp gauge, per series;
// a series without a timestamp (0) has no age.
func TestMetricsAge(t *testing.T) {
	f := newFixture(t)
	s := newServer(t, f, nil)
	m := s.Metrics()
	describeIngest(m)
	m.Set(pipeline.MetricLastFullSweep, map[string]string{"source": "landes"}, float64(t0.Unix()))
	m.Set(pipeline.MetricLastFullSweep, map[string]string{"source": "gironde"}, 0)
	body := do(t, s.Handler(), "GET", "/metrics", nil).body
	samples, err := parseProm(body)
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	if got := samples[`capstat_ingest_last_full_sweep_age_seconds{source="landes"}`]; got != 5400 {
		t.Errorf("capstat_ingest_last_full_sweep_age_seconds{source=landes} = %v, want 5400 (fixedNow - t0)", got)
	}
	if _, ok := samples[`capstat_ingest_last_full_sweep_age_seconds{source="gironde"}`]; ok {
		t.Error("an age for a source without a full sweep")
	}
	if _, ok := samples[`capstat_ingest_last_refresh_age_seconds{source="landes"}`]; ok {
		t.Error("an age without its timestamp")
	}
	if !strings.Contains(body, "# TYPE capstat_ingest_last_full_sweep_age_seconds gauge\n") {
		t.Error("the age is not a gauge")
	}
}

// Each source has its refresh job (ingest-<source>, on schedule) and its
// full sweep job (full-<source>, on full_schedule, Full set). Triggered
// together, they run one after the other, never at once; the ingest
// metrics carry the mode and the freshness gauges and ages follow.
func TestSourceJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("crawls the sandbox: skipped in -short mode")
	}
	srv, err := sandbox.New(sandbox.Options{Seed: 4, Scale: sandbox.Tiny, Instances: []string{"landes"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	dir := t.TempDir()
	c := config.Default()
	c.Database = filepath.Join(dir, "capstat.duckdb")
	if err := c.AddSourceFlag("landes=" + hs.URL + "/landes/graphql"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, c.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := NewMetrics()
	describeIngest(m)
	p := &pipeline.Pipeline{Config: c, Logger: quiet(), Summary: io.Discard, DB: db, Metrics: m}
	jobs := sourceJobs(c, p)
	sch := newScheduler(t, jobs...)

	specs := map[string]string{}
	for _, j := range sch.Jobs() {
		specs[j.Name] = j.Spec
		if j.Concurrent {
			t.Errorf("job %s does not take the pipeline lock", j.Name)
		}
	}
	if !strings.HasSuffix(specs["ingest-landes"], " "+c.Sources[0].Schedule) || !strings.HasSuffix(specs["full-landes"], " "+config.DefaultFullSchedule) {
		t.Errorf("job specs = %v, want ingest-landes on %q and full-landes on %q", specs, c.Sources[0].Schedule, config.DefaultFullSchedule)
	}

	if err := sch.Trigger(IngestJobName("landes")); err != nil {
		t.Fatal(err)
	}
	if err := sch.Trigger(FullJobName("landes")); err != nil {
		t.Fatal(err)
	}
	var runs []schedules.Run
	for i := 0; ; i++ {
		runs, err = sch.History(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		finished := 0
		for _, r := range runs {
			if r.FinishedAt != nil {
				finished++
			}
		}
		if finished == 2 {
			break
		}
		if i == 1200 {
			t.Fatalf("jobs still running after 60 s: %+v", runs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(runs) != 2 {
		t.Fatalf("runs = %+v, want one of each job", runs)
	}
	for _, r := range runs {
		if r.Status != schedules.StatusSucceeded || r.StartedAt == nil {
			t.Fatalf("run %s: %s %s", r.Job, r.Status, r.Error)
		}
	}
	a, b := runs[0], runs[1]
	if !(!a.FinishedAt.After(*b.StartedAt) || !b.FinishedAt.After(*a.StartedAt)) {
		t.Errorf("%s (%v → %v) and %s (%v → %v) overlapped", a.Job, a.StartedAt, a.FinishedAt, b.Job, b.StartedAt, b.FinishedAt)
	}

	// The full sweep job ran with Full: its run is a full sweep.
	var modes int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = 'ingest_runs' AND column_name = 'mode'`).Scan(&modes); err != nil {
		t.Fatal(err)
	}
	if modes == 1 {
		var full int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM raw.ingest_runs WHERE source = 'landes' AND status = 'complete' AND mode = 'full'`).Scan(&full); err != nil {
			t.Fatal(err)
		}
		if full == 0 {
			t.Error("no complete full sweep after the full-landes job")
		}
	} else { // an ingester that does not record modes yet: every run is full
		if _, err := db.ExecContext(ctx, `ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS mode VARCHAR DEFAULT 'full'`); err != nil {
			t.Fatal(err)
		}
		if err := p.ObserveFreshness(ctx); err != nil {
			t.Fatal(err)
		}
	}

	s := newServer(t, newFixture(t), func(o *Options) { o.Metrics, o.Scheduler, o.Now = m, sch, time.Now })
	body := do(t, s.Handler(), "GET", "/metrics", nil).body
	samples, err := parseProm(body)
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	var requests float64
	for k, v := range samples {
		if strings.HasPrefix(k, "capstat_ingest_requests_total{mode=") && strings.HasSuffix(k, `,source="landes"}`) {
			requests += v
		}
	}
	if requests == 0 {
		t.Errorf("no capstat_ingest_requests_total{mode,source=landes}:\n%s", body)
	}
	for _, name := range []string{"capstat_ingest_last_refresh_age_seconds", "capstat_ingest_last_full_sweep_age_seconds"} {
		v, ok := samples[name+`{source="landes"}`]
		if !ok || v < 0 || v > 300 {
			t.Errorf("%s{source=landes} = %v (present %v), want the seconds since the jobs ran", name, v, ok)
		}
	}
	for _, name := range []string{pipeline.MetricLastRefresh, pipeline.MetricLastFullSweep} {
		if _, ok := samples[name+`{source="landes"}`]; !ok {
			t.Errorf("no %s{source=landes}", name)
		}
	}
}
