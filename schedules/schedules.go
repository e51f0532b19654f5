// Package schedules runs capstat's periodic jobs (ingest, transform,
// publish, dashboards) on cron schedules.
//
// It wraps robfig/cron v3 with the rules the pipeline needs:
//
//   - Specs take an optional seconds field ("*/5 * * * * *" or "0 3 * * *")
//     and descriptors ("@daily", "@every 90s"). A spec without a time zone
//     is prefixed with CRON_TZ=<Options.Location> (Europe/Paris by default).
//   - A job never runs twice at once: a tick (or a manual trigger) that finds
//     the job still running is skipped and the skip is recorded in the
//     history. The skip check is the outermost wrapper and the panic recovery
//     sits inside it, so a panicking job releases its slot and keeps its
//     schedule (the robfig chain-order pitfall).
//   - Jobs that write the working database (every job unless
//     Job.Concurrent is set) share one global pipeline lock. A job that
//     finds the lock held waits for it (it is queued, status "queued" in the
//     history), up to Options.LockWait; past that bound the run is recorded
//     as skipped. Only one run per job can wait, because the job's own slot is
//     held while it waits: further ticks of that job are skipped.
//   - Every run is recorded in the table jobs.runs of the database given in
//     Options.DB (DuckDB, the working database). Rows still "running" or
//     "queued" when the scheduler opens come from a process that died; they
//     are marked "interrupted".
//   - Stop stops the cron, cancels the running jobs' contexts and waits for
//     them up to the caller's context; the runs are recorded as "interrupted".
//
// Daylight saving time in Europe/Paris: a spec at a local time between 02:00
// and 03:00 is skipped on the last Sunday of March and runs twice on the last
// Sunday of October; prefer other hours or CRON_TZ=UTC.
package schedules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // CRON_TZ=Europe/Paris must work on machines without zoneinfo.

	"github.com/robfig/cron/v3"

	"github.com/capstat/capstat/internal/config"
)

// Run statuses recorded in the history.
const (
	StatusQueued      = "queued"      // waiting for the pipeline lock
	StatusRunning     = "running"     // started, not finished
	StatusSucceeded   = "succeeded"   // Run returned nil
	StatusFailed      = "failed"      // Run returned an error or panicked
	StatusSkipped     = "skipped"     // not started: already running, or lock wait exceeded
	StatusInterrupted = "interrupted" // cancelled by Stop, or left running by a dead process
)

// Triggers recorded in the history.
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
)

// Errors returned by Trigger.
var (
	ErrUnknownJob = errors.New("unknown job")
	ErrRunning    = errors.New("job already running")
	ErrStopped    = errors.New("scheduler stopped")
)

// ManualOnly is a Job.Spec that registers a job without a schedule: it runs
// only through Trigger. An empty Spec means the same.
const ManualOnly = config.ManualOnly

// Job is one named unit of work.
type Job struct {
	Name string
	// Spec is a cron spec: 5 or 6 fields (seconds optional), a descriptor
	// (@hourly, @every 10m), optionally prefixed by CRON_TZ=Zone; "" or
	// "@manual" for a job that only runs when triggered.
	Spec string
	// Run does the work. It must return soon after ctx is cancelled.
	Run func(ctx context.Context) error
	// Concurrent marks a job that does not write the working database: it
	// does not take the global pipeline lock. The default (false) is right
	// for ingest, transform, publish and dashboards.
	Concurrent bool
	// Timeout bounds one run (0: no bound).
	Timeout time.Duration
}

// Options configures a Scheduler.
type Options struct {
	// DB is the working database (DuckDB) holding the jobs schema. Nil keeps
	// the history in memory only (last HistorySize runs).
	DB DB
	// Location is the default time zone of specs without CRON_TZ=
	// (default "Europe/Paris").
	Location string
	// LockWait bounds how long a run waits for the pipeline lock before it
	// is skipped (0: wait until the lock is free or the scheduler stops).
	LockWait time.Duration
	// HistorySize is the number of runs kept in memory (default 500).
	HistorySize int
	Logger      *slog.Logger
	// Now is the clock used for history timestamps (default time.Now).
	Now func() time.Time
}

// Run is one row of the job history.
type Run struct {
	ID          int64      `json:"id"`
	Job         string     `json:"job"`
	Trigger     string     `json:"trigger"`
	Status      string     `json:"status"`
	QueuedAt    time.Time  `json:"queued_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	DurationSec float64    `json:"duration_seconds"`
	Error       string     `json:"error,omitempty"`
}

// JobInfo describes a registered job.
type JobInfo struct {
	Name       string     `json:"name"`
	Spec       string     `json:"spec"`
	Concurrent bool       `json:"concurrent"`
	Running    bool       `json:"running"`
	Next       *time.Time `json:"next,omitempty"`
	Prev       *time.Time `json:"prev,omitempty"`
}

// JobStats are the counters of one job since the scheduler was created.
type JobStats struct {
	Name string
	// Runs counts finished runs by status (succeeded, failed, interrupted,
	// skipped).
	Runs            map[string]int64
	Failures        int64 // failed runs, panics included
	Panics          int64
	Skips           int64
	DurationSum     float64 // seconds, over finished (not skipped) runs
	DurationCount   int64
	LockWaitSum     float64 // seconds spent queued for the pipeline lock
	Running         bool
	LastSuccess     time.Time // zero if none
	LastRunDuration float64
}

type jobState struct {
	job     Job
	spec    string // normalised spec ("" for manual only)
	entry   cron.EntryID
	sched   cron.Schedule // nil for manual-only jobs
	running atomic.Bool

	mu    sync.Mutex // guards stats
	stats JobStats
}

// Scheduler runs jobs. Create it with New, add jobs, then Start.
type Scheduler struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	loc     *time.Location
	parser  cron.Parser
	cron    *cron.Cron
	history *history

	lock      chan struct{} // global pipeline lock (capacity 1)
	lockOwner atomic.Value  // string: job holding the lock

	baseCtx context.Context
	cancel  context.CancelFunc

	mu      sync.Mutex
	jobs    map[string]*jobState
	active  map[int64]*activeRun
	started bool
	stopped bool
	wg      sync.WaitGroup
}

type activeRun struct {
	run  Run
	done atomic.Bool // the final status has been recorded
}

// New creates a scheduler and, when opts.DB is set, the jobs schema.
func New(ctx context.Context, opts Options) (*Scheduler, error) {
	if opts.Location == "" {
		opts.Location = "Europe/Paris"
	}
	loc, err := time.LoadLocation(opts.Location)
	if err != nil {
		return nil, fmt.Errorf("schedules: location %q: %w", opts.Location, err)
	}
	if opts.HistorySize <= 0 {
		opts.HistorySize = 500
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h, err := newHistory(ctx, opts.DB, opts.HistorySize, opts.Now)
	if err != nil {
		return nil, err
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		opts:    opts,
		log:     opts.Logger.With("component", "schedules"),
		now:     opts.Now,
		loc:     loc,
		parser:  config.CronParser(),
		history: h,
		lock:    make(chan struct{}, 1),
		baseCtx: base,
		cancel:  cancel,
		jobs:    map[string]*jobState{},
		active:  map[int64]*activeRun{},
	}
	s.cron = cron.New(
		cron.WithParser(s.parser),
		cron.WithLocation(loc),
		cron.WithLogger(cronLogger{s.log}),
	)
	return s, nil
}

// NormalizeSpec returns spec with the default time zone prefix added when it
// has none, or "" for a manual-only spec. It does not validate the spec.
func NormalizeSpec(spec, location string) string {
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == ManualOnly {
		return ""
	}
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "@every") {
		return spec
	}
	return "CRON_TZ=" + location + " " + spec
}

// Add registers a job. Names are unique. It may be called before or after
// Start.
func (s *Scheduler) Add(j Job) error {
	if j.Name == "" || strings.ContainsAny(j.Name, "/ \t\n") {
		return fmt.Errorf("schedules: invalid job name %q", j.Name)
	}
	if j.Run == nil {
		return fmt.Errorf("schedules: job %s: nil Run", j.Name)
	}
	spec := NormalizeSpec(j.Spec, s.opts.Location)
	st := &jobState{job: j, spec: spec}
	st.stats.Name = j.Name
	st.stats.Runs = map[string]int64{}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	if _, dup := s.jobs[j.Name]; dup {
		return fmt.Errorf("schedules: job %s already added", j.Name)
	}
	if spec != "" {
		sched, err := s.parser.Parse(spec)
		if err != nil {
			return fmt.Errorf("schedules: job %s: spec %q: %w", j.Name, j.Spec, err)
		}
		st.sched = sched
		st.entry = s.cron.Schedule(sched, cron.FuncJob(func() { s.tick(st) }))
	}
	s.jobs[j.Name] = st
	return nil
}

// Start starts the cron loop in the background.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	s.cron.Start()
}

// tick is the cron callback: it runs the job in cron's goroutine.
func (s *Scheduler) tick(st *jobState) {
	ar, err := s.begin(st, TriggerSchedule)
	if err != nil {
		return // skip recorded by begin, or stopped
	}
	s.execute(st, ar)
}

// Trigger starts a manual run of the named job in the background. It
// returns ErrUnknownJob, ErrRunning (the skip is recorded) or ErrStopped.
func (s *Scheduler) Trigger(name string) error {
	s.mu.Lock()
	st, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownJob, name)
	}
	ar, err := s.begin(st, TriggerManual)
	if err != nil {
		return err
	}
	go s.execute(st, ar)
	return nil
}

// begin takes the job's slot (outermost wrapper: skip if still running) and
// records a queued run. On success the caller must call execute.
func (s *Scheduler) begin(st *jobState, trigger string) (*activeRun, error) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil, ErrStopped
	}
	if !st.running.CompareAndSwap(false, true) {
		s.mu.Unlock()
		now := s.now()
		r := Run{Job: st.job.Name, Trigger: trigger, Status: StatusSkipped, QueuedAt: now, FinishedAt: &now,
			Error: "previous run still running or queued"}
		s.history.insert(context.Background(), &r, s.log)
		st.count(func(js *JobStats) { js.Skips++; js.Runs[StatusSkipped]++ })
		s.log.Warn("job skipped: still running", "job", st.job.Name, "trigger", trigger)
		return nil, fmt.Errorf("%w: %s", ErrRunning, st.job.Name)
	}
	s.wg.Add(1)
	s.mu.Unlock()

	ar := &activeRun{run: Run{Job: st.job.Name, Trigger: trigger, Status: StatusQueued, QueuedAt: s.now()}}
	s.history.insert(context.Background(), &ar.run, s.log)
	s.mu.Lock()
	s.active[ar.run.ID] = ar
	s.mu.Unlock()
	return ar, nil
}

// execute waits for the pipeline lock if needed, runs the job with panic
// recovery (inner wrapper) and records the outcome.
func (s *Scheduler) execute(st *jobState, ar *activeRun) {
	defer s.wg.Done()
	defer st.running.Store(false)
	defer func() {
		s.mu.Lock()
		delete(s.active, ar.run.ID)
		s.mu.Unlock()
	}()

	queued := s.now()
	if !st.job.Concurrent {
		acquired, reason := s.acquire(st.job.Name)
		wait := s.now().Sub(queued).Seconds()
		st.count(func(js *JobStats) { js.LockWaitSum += wait })
		if !acquired {
			status := StatusSkipped
			if s.baseCtx.Err() != nil {
				status = StatusInterrupted
			}
			s.finish(st, ar, status, reason, nil)
			return
		}
		defer s.release()
	}

	ctx, cancel := context.WithCancel(s.baseCtx)
	if st.job.Timeout > 0 {
		ctx, cancel = context.WithTimeout(s.baseCtx, st.job.Timeout)
	}
	defer cancel()

	start := s.now()
	ar.run.StartedAt = &start
	ar.run.Status = StatusRunning
	s.history.update(context.Background(), ar.run, s.log)
	s.log.Info("job started", "job", st.job.Name, "run", ar.run.ID, "trigger", ar.run.Trigger)

	err, panicked := safeRun(ctx, st.job.Run)
	status := StatusSucceeded
	msg := ""
	switch {
	case err == nil:
	case s.baseCtx.Err() != nil:
		status, msg = StatusInterrupted, err.Error()
	default:
		status, msg = StatusFailed, err.Error()
	}
	s.finish(st, ar, status, msg, &panicked)
}

// safeRun is the Recover wrapper: a panic becomes an error.
func safeRun(ctx context.Context, run func(context.Context) error) (err error, panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			panicked = true
		}
	}()
	return run(ctx), false
}

// finish records the final status once (Stop may have recorded it already).
func (s *Scheduler) finish(st *jobState, ar *activeRun, status, msg string, panicked *bool) {
	if !ar.done.CompareAndSwap(false, true) {
		return
	}
	end := s.now()
	ar.run.Status = status
	ar.run.Error = msg
	ar.run.FinishedAt = &end
	if ar.run.StartedAt != nil {
		ar.run.DurationSec = end.Sub(*ar.run.StartedAt).Seconds()
	}
	s.history.update(context.Background(), ar.run, s.log)
	st.count(func(js *JobStats) {
		js.Runs[status]++
		switch status {
		case StatusSkipped:
			js.Skips++
		case StatusFailed:
			js.Failures++
		case StatusSucceeded:
			js.LastSuccess = end
		}
		if panicked != nil && *panicked {
			js.Panics++
		}
		if ar.run.StartedAt != nil {
			js.DurationSum += ar.run.DurationSec
			js.DurationCount++
			js.LastRunDuration = ar.run.DurationSec
		}
	})
	lvl := slog.LevelInfo
	if status != StatusSucceeded {
		lvl = slog.LevelWarn
	}
	s.log.Log(context.Background(), lvl, "job finished", "job", st.job.Name, "run", ar.run.ID,
		"status", status, "duration", ar.run.DurationSec, "error", msg)
}

// acquire takes the pipeline lock, waiting at most LockWait.
func (s *Scheduler) acquire(name string) (bool, string) {
	var timeout <-chan time.Time
	if s.opts.LockWait > 0 {
		t := time.NewTimer(s.opts.LockWait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case s.lock <- struct{}{}:
		s.lockOwner.Store(name)
		return true, ""
	default:
	}
	owner, _ := s.lockOwner.Load().(string)
	s.log.Info("job queued: pipeline lock held", "job", name, "holder", owner)
	select {
	case s.lock <- struct{}{}:
		s.lockOwner.Store(name)
		return true, ""
	case <-timeout:
		owner, _ := s.lockOwner.Load().(string)
		return false, fmt.Sprintf("pipeline lock held by %s for more than %s", owner, s.opts.LockWait)
	case <-s.baseCtx.Done():
		return false, "scheduler stopped while waiting for the pipeline lock"
	}
}

func (s *Scheduler) release() {
	s.lockOwner.Store("")
	<-s.lock
}

func (st *jobState) count(f func(*JobStats)) {
	st.mu.Lock()
	f(&st.stats)
	st.mu.Unlock()
}

// Stop stops scheduling, cancels the running jobs and waits for them until
// ctx is done. Runs still going when ctx ends are recorded as interrupted and
// Stop returns ctx's error. Stop is idempotent.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	first := !s.stopped
	s.stopped = true
	s.mu.Unlock()
	if first {
		s.cron.Stop() // no new ticks; running ticks are awaited below
		s.cancel()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	left := make([]*activeRun, 0, len(s.active))
	for _, ar := range s.active {
		left = append(left, ar)
	}
	jobs := s.jobs
	s.mu.Unlock()
	for _, ar := range left {
		if st := jobs[ar.run.Job]; st != nil {
			s.finish(st, ar, StatusInterrupted, "did not stop within the shutdown bound", nil)
		}
	}
	return fmt.Errorf("schedules: stop: %d job(s) still running: %w", len(left), ctx.Err())
}

// History returns the last runs, newest first (limit <= 0: 100). It reads
// the database; when the database does not answer it falls back to the runs
// of this process kept in memory.
func (s *Scheduler) History(ctx context.Context, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.history.list(ctx, limit, s.log)
}

// states returns the registered jobs' states.
func (s *Scheduler) states() []*jobState {
	s.mu.Lock()
	defer s.mu.Unlock()
	states := make([]*jobState, 0, len(s.jobs))
	for _, st := range s.jobs {
		states = append(states, st)
	}
	return states
}

// Jobs lists the registered jobs with their next and previous scheduled
// times, sorted by name.
func (s *Scheduler) Jobs() []JobInfo {
	states := s.states()
	out := make([]JobInfo, 0, len(states))
	for _, st := range states {
		ji := JobInfo{Name: st.job.Name, Spec: st.spec, Concurrent: st.job.Concurrent, Running: st.running.Load()}
		if st.entry != 0 {
			e := s.cron.Entry(st.entry)
			n := e.Next
			if n.IsZero() { // not started yet
				n = st.sched.Next(s.now())
			}
			if !n.IsZero() {
				ji.Next = &n
			}
			if !e.Prev.IsZero() {
				p := e.Prev
				ji.Prev = &p
			}
		}
		out = append(out, ji)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Stats returns a snapshot of every job's counters, sorted by name.
func (s *Scheduler) Stats() []JobStats {
	states := s.states()
	out := make([]JobStats, 0, len(states))
	for _, st := range states {
		st.mu.Lock()
		js := st.stats
		js.Runs = make(map[string]int64, len(st.stats.Runs))
		for k, v := range st.stats.Runs {
			js.Runs[k] = v
		}
		st.mu.Unlock()
		js.Running = st.running.Load()
		out = append(out, js)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Has reports whether a job with this name is registered.
func (s *Scheduler) Has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.jobs[name]
	return ok
}

// cronLogger routes robfig/cron's logs to slog (errors only: its Info lines
// are per-tick noise).
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(string, ...any) {}
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append([]any{"error", err}, kv...)...)
}
