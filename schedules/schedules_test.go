package schedules

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/duckdbx"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestScheduler(t *testing.T, opts Options) *Scheduler {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s
}

// waitFor polls cond; the bound only turns a hang into a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func statsOf(s *Scheduler, name string) JobStats {
	for _, js := range s.Stats() {
		if js.Name == name {
			return js
		}
	}
	return JobStats{}
}

func countStatus(runs []Run, job, status string) int {
	n := 0
	for _, r := range runs {
		if r.Job == job && r.Status == status {
			n++
		}
	}
	return n
}

func TestNormalizeSpec(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0 3 * * *", "CRON_TZ=Europe/Paris 0 3 * * *"},
		{"*/5 * * * * *", "CRON_TZ=Europe/Paris */5 * * * * *"},
		{"@daily", "CRON_TZ=Europe/Paris @daily"},
		{"@every 1s", "@every 1s"},
		{"CRON_TZ=UTC 0 3 * * *", "CRON_TZ=UTC 0 3 * * *"},
		{"TZ=UTC 0 3 * * *", "TZ=UTC 0 3 * * *"},
		{"", ""},
		{"@manual", ""},
	}
	for _, tt := range tests {
		if got := NormalizeSpec(tt.in, "Europe/Paris"); got != tt.want {
			t.Errorf("NormalizeSpec(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDefaultZoneIsParis(t *testing.T) {
	s := newTestScheduler(t, Options{})
	sched, err := s.parser.Parse(NormalizeSpec("0 3 * * *", "Europe/Paris"))
	if err != nil {
		t.Fatal(err)
	}
	// 03:00 CEST on the day after the spring DST switch is 01:00 UTC.
	got := sched.Next(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)).UTC()
	want := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	if !got.Equal(want) {
		t.Fatalf("next = %s, want %s", got, want)
	}
}

func TestAddErrors(t *testing.T) {
	s := newTestScheduler(t, Options{})
	ok := func(context.Context) error { return nil }
	tests := []struct {
		name string
		job  Job
	}{
		{"bad spec", Job{Name: "a", Spec: "not a spec", Run: ok}},
		{"six fields too many", Job{Name: "b", Spec: "* * * * * * *", Run: ok}},
		{"empty name", Job{Name: "", Spec: "@daily", Run: ok}},
		{"slash in name", Job{Name: "a/b", Spec: "@daily", Run: ok}},
		{"nil run", Job{Name: "c", Spec: "@daily"}},
		{"bad zone", Job{Name: "d", Spec: "CRON_TZ=Mars/Olympus 0 3 * * *", Run: ok}},
	}
	for _, tt := range tests {
		if err := s.Add(tt.job); err == nil {
			t.Errorf("%s: Add succeeded", tt.name)
		}
	}
	if err := s.Add(Job{Name: "x", Spec: "@daily", Run: ok}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Job{Name: "x", Spec: "@daily", Run: ok}); err == nil {
		t.Error("duplicate name accepted")
	}
}

// A long job on a one-second schedule: two scheduled runs and at least one
// skipped overlap, all in the DuckDB history.
func TestScheduledRunsAndSkipInDuckDB(t *testing.T) {
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := newTestScheduler(t, Options{DB: db})

	var calls atomic.Int32
	run := func(ctx context.Context) error {
		if calls.Add(1) == 1 {
			// The first run lasts until a tick has been skipped.
			for statsOf(s, "long").Skips == 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
		return nil
	}
	if err := s.Add(Job{Name: "long", Spec: "*/1 * * * * *", Run: run}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitFor(t, "two successful runs", func() bool { return statsOf(s, "long").Runs[StatusSucceeded] >= 2 })

	runs, err := s.History(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if n := countStatus(runs, "long", StatusSucceeded); n < 2 {
		t.Errorf("history has %d succeeded runs, want >= 2: %+v", n, runs)
	}
	if n := countStatus(runs, "long", StatusSkipped); n < 1 {
		t.Errorf("history has %d skipped runs, want >= 1: %+v", n, runs)
	}
	for _, r := range runs {
		if r.Trigger != TriggerSchedule {
			t.Errorf("run %d trigger = %s", r.ID, r.Trigger)
		}
		if r.Status == StatusSucceeded && (r.StartedAt == nil || r.FinishedAt == nil) {
			t.Errorf("run %d lacks times: %+v", r.ID, r)
		}
	}
	// Newest first.
	for i := 1; i < len(runs); i++ {
		if runs[i-1].ID <= runs[i].ID {
			t.Fatalf("history not newest first: %d then %d", runs[i-1].ID, runs[i].ID)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM jobs.runs WHERE job = 'long' AND status = 'skipped'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Errorf("jobs.runs has %d skipped rows", n)
	}
}

func TestRecoverKeepsSchedule(t *testing.T) {
	s := newTestScheduler(t, Options{})
	var calls atomic.Int32
	err := s.Add(Job{Name: "flaky", Spec: "@every 1s", Run: func(context.Context) error {
		if calls.Add(1) == 1 {
			panic("boom")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitFor(t, "a run after the panic", func() bool { return statsOf(s, "flaky").Runs[StatusSucceeded] >= 1 })
	js := statsOf(s, "flaky")
	if js.Panics != 1 || js.Failures != 1 {
		t.Errorf("stats = %+v, want 1 panic counted as 1 failure", js)
	}
	runs, _ := s.History(context.Background(), 10)
	var panicRun *Run
	for i := range runs {
		if runs[i].Status == StatusFailed {
			panicRun = &runs[i]
		}
	}
	if panicRun == nil || !strings.Contains(panicRun.Error, "panic: boom") {
		t.Errorf("no failed run with the panic message: %+v", runs)
	}
}

func TestTrigger(t *testing.T) {
	s := newTestScheduler(t, Options{})
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	err := s.Add(Job{Name: "manual", Run: func(ctx context.Context) error {
		started <- struct{}{}
		<-release
		return errors.New("broken source")
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Trigger("nope"); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("unknown job: err = %v", err)
	}
	if err := s.Trigger("manual"); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := s.Trigger("manual"); !errors.Is(err, ErrRunning) {
		t.Errorf("second trigger: err = %v, want ErrRunning", err)
	}
	if ji := s.Jobs(); len(ji) != 1 || !ji[0].Running || ji[0].Next != nil {
		t.Errorf("Jobs() = %+v", ji)
	}
	close(release)
	waitFor(t, "failure recorded", func() bool { return statsOf(s, "manual").Failures == 1 })
	runs, _ := s.History(context.Background(), 10)
	if countStatus(runs, "manual", StatusFailed) != 1 || countStatus(runs, "manual", StatusSkipped) != 1 {
		t.Errorf("history = %+v", runs)
	}
	for _, r := range runs {
		if r.Trigger != TriggerManual || (r.Status == StatusFailed) != (r.Error == "broken source") {
			t.Errorf("run = %+v", r)
		}
	}
}

// Pipeline jobs never overlap: the second one waits for the lock.
func TestPipelineLockQueues(t *testing.T) {
	s := newTestScheduler(t, Options{})
	var inside, maxInside atomic.Int32
	gate := make(chan struct{})
	work := func(ctx context.Context) error {
		n := inside.Add(1)
		defer inside.Add(-1)
		for {
			m := maxInside.Load()
			if n <= m || maxInside.CompareAndSwap(m, n) {
				break
			}
		}
		<-gate
		return nil
	}
	for _, name := range []string{"ingest", "transform", "publish"} {
		if err := s.Add(Job{Name: name, Run: work}); err != nil {
			t.Fatal(err)
		}
	}
	reader := make(chan struct{})
	if err := s.Add(Job{Name: "reader", Concurrent: true, Run: func(context.Context) error { <-reader; return nil }}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ingest", "transform", "publish", "reader"} {
		if err := s.Trigger(name); err != nil {
			t.Fatal(err)
		}
	}
	// Two pipeline jobs are queued behind the lock; the concurrent one runs.
	waitFor(t, "two queued runs", func() bool {
		runs, _ := s.History(context.Background(), 10)
		return countStatus(runs, "ingest", StatusQueued)+countStatus(runs, "transform", StatusQueued)+countStatus(runs, "publish", StatusQueued) == 2 &&
			countStatus(runs, "reader", StatusRunning) == 1
	})
	close(reader)
	close(gate)
	waitFor(t, "all done", func() bool {
		runs, _ := s.History(context.Background(), 10)
		return countStatus(runs, "ingest", StatusSucceeded)+countStatus(runs, "transform", StatusSucceeded)+countStatus(runs, "publish", StatusSucceeded) == 3
	})
	if m := maxInside.Load(); m != 1 {
		t.Errorf("%d pipeline jobs ran at once", m)
	}
}

func TestPipelineLockWaitBound(t *testing.T) {
	s := newTestScheduler(t, Options{LockWait: 50 * time.Millisecond})
	gate := make(chan struct{})
	defer close(gate)
	started := make(chan struct{})
	if err := s.Add(Job{Name: "ingest", Run: func(context.Context) error { close(started); <-gate; return nil }}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Job{Name: "publish", Run: func(context.Context) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	if err := s.Trigger("ingest"); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := s.Trigger("publish"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "publish skipped", func() bool { return statsOf(s, "publish").Skips == 1 })
	runs, _ := s.History(context.Background(), 10)
	if !strings.Contains(runs[0].Error, "pipeline lock held by ingest") {
		t.Errorf("skip reason = %q", runs[0].Error)
	}
}

func TestStopCancelsRunningJob(t *testing.T) {
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := newTestScheduler(t, Options{DB: db})
	started := make(chan struct{})
	err = s.Add(Job{Name: "ingest", Run: func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Trigger("ingest"); err != nil {
		t.Fatal(err)
	}
	<-started
	stopCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := s.Stop(stopCtx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	runs, err := s.History(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != StatusInterrupted || runs[0].FinishedAt == nil {
		t.Fatalf("history = %+v", runs)
	}
	if err := s.Trigger("ingest"); !errors.Is(err, ErrStopped) {
		t.Errorf("trigger after stop: %v", err)
	}
}

// A job that ignores its context: Stop gives up at the bound and records the
// run as interrupted anyway.
func TestStopBound(t *testing.T) {
	s := newTestScheduler(t, Options{})
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	err := s.Add(Job{Name: "stubborn", Run: func(context.Context) error {
		close(started)
		<-release
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Trigger("stubborn"); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want deadline exceeded", err)
	}
	runs, _ := s.History(context.Background(), 10)
	if len(runs) != 1 || runs[0].Status != StatusInterrupted {
		t.Fatalf("history = %+v", runs)
	}
}

func TestStaleRunsClosedOnOpen(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/work.duckdb"
	db, err := duckdbx.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := New(ctx, Options{DB: db, Logger: quietLogger()}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO jobs.runs (run_id, job, trigger, status, queued_at) VALUES (7, 'ingest', 'schedule', 'running', now())`); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, Options{DB: db, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.History(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != StatusInterrupted || runs[0].Error == "" {
		t.Fatalf("history = %+v", runs)
	}
	if s.history.nextID != 8 {
		t.Errorf("next id = %d, want 8", s.history.nextID)
	}
}

// A database that fails does not stop the jobs; History falls back to the
// runs kept in memory.
func TestHistoryDatabaseFailure(t *testing.T) {
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestScheduler(t, Options{DB: db})
	if err := s.Add(Job{Name: "transform", Run: func(context.Context) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := s.Trigger("transform"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "run", func() bool { return statsOf(s, "transform").Runs[StatusSucceeded] == 1 })
	runs, err := s.History(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != StatusSucceeded {
		t.Fatalf("history = %+v", runs)
	}
}
