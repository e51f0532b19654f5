package ingest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/capstat/capstat/ingest/capco"
	"github.com/capstat/capstat/ingest/rawstore"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/time/rate"
)

// crawler crawls one source.
type crawler struct {
	src   Source
	store *rawstore.Store
	w     *writer
	prog  *progress
	log   *slog.Logger
	rep   *SourceReport

	gql        *client            // default client (first locale, if any)
	localeGQL  map[string]*client // per-locale clients for projects
	inflight   chan struct{}
	taskSlots  chan struct{}
	limiter    *rate.Limiter
	run        int64
	full       bool              // Options.Full: force a full sweep
	state      rawstore.RunState // mode and baseline of the run
	cps        map[string]rawstore.Checkpoint
	requests   atomic.Int64
	bytes      atomic.Int64 // response bytes
	reads      *sync.Mutex  // one planning read at a time across sources (DuckDB's memory_limit is shared with the writer)
	retries    atomic.Int64
	errCount   atomic.Int64
	mu         sync.Mutex
	failures   []error
	cancelSrc  context.CancelCauseFunc
	repMu      sync.Mutex
	httpClient *http.Client
	loc        *time.Location // the source's timezone, for DateTime values
	bufs       sync.Pool      // *bytes.Buffer for payload encoding
	latestMu   sync.Mutex
	latest     time.Time
	noCosts    atomic.Bool          // the token was refused the cost fields: proposals are read without them
	refused    map[refusalKey]int64 // partial GraphQL errors by kind of task and message (under repMu)
	notes      int64                // capstat's own notes (NotePrefix), under repMu
}

type refusalKey struct{ task, message string }

// fatalError stops a whole source (refused credentials).
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func newCrawler(src Source, store *rawstore.Store, w *writer, reads *sync.Mutex, prog *progress, log *slog.Logger, opts Options, rep *SourceReport) *crawler {
	hc := opts.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = src.Concurrency * 2
		hc = &http.Client{Transport: tr}
	}
	c := &crawler{
		src: src, store: store, w: w, prog: prog, rep: rep,
		log:        log.With("source", src.Name),
		inflight:   make(chan struct{}, src.Concurrency),
		taskSlots:  make(chan struct{}, 2*src.Concurrency),
		localeGQL:  map[string]*client{},
		httpClient: hc,
		full:       opts.Full,
		reads:      reads,
	}
	c.loc, _ = time.LoadLocation(src.Timezone) // validated by normalize
	if src.RequestsPerSecond > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(src.RequestsPerSecond), max(1, int(src.RequestsPerSecond)))
	}
	first := ""
	if len(src.Locales) > 0 {
		first = src.Locales[0]
	}
	c.gql = &client{endpoint: src.Endpoint, token: src.Token, locale: first, http: hc, bytes: &c.bytes}
	for _, l := range src.Locales {
		c.localeGQL[l] = &client{endpoint: src.Endpoint, token: src.Token, locale: l, http: hc, bytes: &c.bytes}
	}
	return c
}

// crawl runs the whole crawl plan of the source (API.md §10).
func (c *crawler) crawl(parent context.Context, newRun int64) (err error) {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	c.cancelSrc = cancel

	var st rawstore.RunState
	err = c.w.exec(ctx, func(s *rawstore.Store) error {
		var e error
		st, e = s.BeginRun(ctx, rawstore.SourceInfo{Name: c.src.Name, Endpoint: c.src.Endpoint, Timezone: c.src.Timezone, Locales: c.src.Locales}, newRun, time.Now(), c.full)
		return e
	})
	if err != nil {
		return fmt.Errorf("source %s: %w", c.src.Name, err)
	}
	c.run, c.cps, c.state = st.Run, st.Checkpoints, st
	c.rep.Run, c.rep.Resumed, c.rep.Mode = st.Run, st.Resumed, st.Mode
	c.log.Info("crawl start", "run", c.run, "mode", st.Mode, "resumed", st.Resumed, "checkpoints", len(st.Checkpoints))

	var all taskGroup
	if c.incremental() {
		c.spawn(ctx, &all, "users+", c.usersNewest)
	} else {
		c.spawn(ctx, &all, "users", c.users)
	}
	c.spawn(ctx, &all, "events", c.events)
	c.spawn(ctx, &all, "districts", c.districts)
	all.wg.Add(1)
	go func() {
		defer all.wg.Done()
		c.projectTree(ctx)
	}()
	all.wg.Wait()

	flushErr := c.w.flush(ctx)
	complete := flushErr == nil && ctx.Err() == nil && len(c.failures) == 0
	var msg string
	if !complete {
		msg = c.failureMessage(ctx, flushErr)
	}
	totals := rawstore.RunTotals{Requests: c.requests.Load(), Bytes: c.bytes.Load(), Retries: c.retries.Load(), Errors: c.errCount.Load()}
	c.repMu.Lock()
	for _, e := range c.rep.Entities {
		totals.Records += e.Records
		totals.Changed += e.Changed
	}
	c.repMu.Unlock()
	var deleted map[string]int64
	finishCtx := context.WithoutCancel(parent)
	ferr := c.w.exec(finishCtx, func(s *rawstore.Store) error {
		var e error
		deleted, e = s.FinishRun(finishCtx, c.src.Name, c.run, complete, totals, msg, time.Now())
		return e
	})
	c.repMu.Lock()
	for t, n := range deleted {
		c.entity(t).Deleted += n
	}
	c.rep.Complete = complete && ferr == nil
	c.rep.Requests, c.rep.Bytes, c.rep.Retries, c.rep.Errors = totals.Requests, totals.Bytes, totals.Retries, totals.Errors
	c.rep.Notes = c.notes
	c.rep.Refused = c.rep.Refused[:0]
	for k, n := range c.refused {
		c.rep.Refused = append(c.rep.Refused, Refusal{Task: k.task, Message: k.message, Count: n, Known: knownRefusal(k.task, k.message)})
	}
	slices.SortFunc(c.rep.Refused, func(a, b Refusal) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Task, b.Task), cmp.Compare(a.Message, b.Message))
	})
	c.rep.Duration = time.Since(start)
	c.latestMu.Lock()
	c.rep.LatestActivity = c.latest
	c.latestMu.Unlock()
	c.repMu.Unlock()
	c.log.Info("crawl end", "run", c.run, "mode", c.state.Mode, "complete", complete, "requests", totals.Requests, "bytes", totals.Bytes, "retries", totals.Retries, "duration", time.Since(start))
	if ferr != nil {
		return fmt.Errorf("source %s: %w", c.src.Name, ferr)
	}
	if !complete {
		return fmt.Errorf("source %s: run %d incomplete: %s", c.src.Name, c.run, msg)
	}
	return nil
}

func (c *crawler) failureMessage(ctx context.Context, flushErr error) string {
	var parts []string
	if cause := context.Cause(ctx); cause != nil {
		parts = append(parts, cause.Error())
	}
	if flushErr != nil && !errors.Is(flushErr, context.Cause(ctx)) {
		parts = append(parts, flushErr.Error())
	}
	c.mu.Lock()
	for i, f := range c.failures {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(c.failures)-5))
			break
		}
		parts = append(parts, f.Error())
	}
	c.mu.Unlock()
	return strings.Join(parts, "; ")
}

// projectTree crawls projects, then what hangs below them.
func (c *crawler) projectTree(ctx context.Context) {
	var g1 taskGroup
	if len(c.src.Locales) == 0 {
		c.spawn(ctx, &g1, "projects", func(ctx context.Context, key string) error { return c.projects(ctx, key, c.gql) })
	}
	for _, l := range c.src.Locales {
		cl := c.localeGQL[l]
		c.spawn(ctx, &g1, "projects@"+l, func(ctx context.Context, key string) error { return c.projects(ctx, key, cl) })
	}
	g1.wg.Wait()
	if err := c.w.flush(ctx); err != nil {
		return
	}
	steps, projects, err := c.planSteps(ctx)
	if err != nil {
		c.fail(ctx, "plan", err)
		return
	}
	carry := &rawstore.Batch{}
	keep := func(kind, scope string) { carry.Carry = append(carry.Carry, c.carried(kind, scope)) }
	consulting := c.consultingProjects(steps, projects)
	var g2 taskGroup
	for _, p := range projects {
		if c.incremental() && !consulting[p.id] {
			keep(rawstore.CarryContributions, p.id)
		} else {
			c.spawn(ctx, &g2, "contributions/"+p.id, func(ctx context.Context, key string) error { return c.contributions(ctx, key, p.id) })
		}
		c.spawn(ctx, &g2, "event_projects/"+p.id, func(ctx context.Context, key string) error { return c.projectEvents(ctx, key, p.id) })
	}
	for _, s := range steps {
		idle := c.incremental() && !c.stepActive(s)
		switch s.typename {
		case "CollectStep", "SelectionStep":
			if idle {
				keep(rawstore.CarrySteps, s.id)
				continue
			}
			for _, trashed := range []capco.ProposalTrashedStatus{capco.ProposalTrashedStatusNotTrashed, capco.ProposalTrashedStatusTrashed} {
				key := "proposals/" + s.id + "/" + strings.ToLower(string(trashed))
				c.spawn(ctx, &g2, key, func(ctx context.Context, key string) error { return c.proposals(ctx, key, s, trashed) })
			}
		case "QuestionnaireStep":
			if s.questionnaire == "" {
				continue
			}
			if idle {
				keep(rawstore.CarryQuestionnaires, s.questionnaire)
				continue
			}
			c.spawn(ctx, &g2, "questions/"+s.questionnaire, func(ctx context.Context, key string) error { return c.questions(ctx, key, s.questionnaire) })
			c.spawn(ctx, &g2, "replies/"+s.questionnaire, func(ctx context.Context, key string) error { return c.replies(ctx, key, s) })
		}
	}
	if !carry.Empty() {
		if err := c.w.put(ctx, carry, nil); err != nil {
			return
		}
	}
	g2.wg.Wait()
	if err := c.w.flush(ctx); err != nil {
		return
	}
	var g3 taskGroup
	c.authorTasks(ctx, &g3)
	if c.incremental() {
		c.refreshVotes(ctx, &g3)
		g3.wg.Wait()
		return
	}
	votes, err := c.queryIDs(ctx, `SELECT id FROM raw.proposals WHERE source = ? AND last_seen_run = ?
AND TRY_CAST(payload->'votes'->>'totalCount' AS BIGINT) > 0 ORDER BY id`)
	if err != nil {
		c.fail(ctx, "plan", err)
		return
	}
	for _, p := range votes {
		c.spawn(ctx, &g3, "votes/"+p, func(ctx context.Context, key string) error { return c.votes(ctx, key, p) })
	}
	g3.wg.Wait()
}

// authorTasks spawns the author pass of the proposals and replies the run
// read.
func (c *crawler) authorTasks(ctx context.Context, g *taskGroup) {
	for _, table := range []string{rawstore.Proposals, rawstore.Replies} {
		ids, err := c.queryIDs(ctx, `SELECT id FROM raw.`+table+` WHERE source = ? AND last_seen_run = ? ORDER BY id`)
		if err != nil {
			c.fail(ctx, "plan", err)
			return
		}
		for i := 0; i < len(ids); i += 100 {
			chunk := ids[i:min(i+100, len(ids))]
			c.spawn(ctx, g, "authors/"+table+"/"+chunk[0], func(ctx context.Context, key string) error { return c.authors(ctx, key, table, chunk) })
		}
	}
}

// stepRef is a step to crawl below: id is its raw.steps id (used in context
// columns), apiID the id the API delivered (used in requests).
type stepRef struct {
	id, apiID, project, typename, questionnaire string
	state, endAt                                string // StepState and timeRange.endAt as delivered
	firstSeen                                   int64  // run that first saw the step
}

// projectRef is a project the run read.
type projectRef struct {
	id        string
	firstSeen int64
}

func (c *crawler) planSteps(ctx context.Context) ([]stepRef, []projectRef, error) {
	c.reads.Lock()
	defer c.reads.Unlock()
	rs, err := c.store.DB().QueryContext(ctx, `SELECT id, coalesce(payload->>'id', id), project_id, coalesce(payload->>'__typename', ''), coalesce(payload->'questionnaire'->>'id', ''),
coalesce(payload->>'state', ''), coalesce(payload->'timeRange'->>'endAt', ''), first_seen_run
FROM raw.steps WHERE source = ? AND last_seen_run = ? ORDER BY project_id, position`, c.src.Name, c.run)
	if err != nil {
		return nil, nil, fmt.Errorf("read steps: %w", err)
	}
	defer rs.Close()
	var steps []stepRef
	for rs.Next() {
		var s stepRef
		if err := rs.Scan(&s.id, &s.apiID, &s.project, &s.typename, &s.questionnaire, &s.state, &s.endAt, &s.firstSeen); err != nil {
			return nil, nil, fmt.Errorf("read steps: %w", err)
		}
		steps = append(steps, s)
	}
	if err := rs.Err(); err != nil {
		return nil, nil, fmt.Errorf("read steps: %w", err)
	}
	rp, err := c.store.DB().QueryContext(ctx, `SELECT id, first_seen_run FROM raw.projects WHERE source = ? AND last_seen_run = ? ORDER BY id`, c.src.Name, c.run)
	if err != nil {
		return nil, nil, fmt.Errorf("read projects: %w", err)
	}
	defer rp.Close()
	var projects []projectRef
	for rp.Next() {
		var p projectRef
		if err := rp.Scan(&p.id, &p.firstSeen); err != nil {
			return nil, nil, fmt.Errorf("read projects: %w", err)
		}
		projects = append(projects, p)
	}
	return steps, projects, rp.Err()
}

func (c *crawler) queryIDs(ctx context.Context, q string) ([]string, error) {
	c.reads.Lock()
	defer c.reads.Unlock()
	rs, err := c.store.DB().QueryContext(ctx, q, c.src.Name, c.run)
	if err != nil {
		return nil, fmt.Errorf("plan query: %w", err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, fmt.Errorf("plan query: %w", err)
		}
		out = append(out, id)
	}
	return out, rs.Err()
}

// taskGroup waits for spawned tasks.
type taskGroup struct{ wg sync.WaitGroup }

// spawn runs task key in a goroutine holding a task slot, unless its
// checkpoint says it is done. A failing task is recorded; the others go on.
func (c *crawler) spawn(ctx context.Context, g *taskGroup, key string, fn func(ctx context.Context, key string) error) {
	if cp, ok := c.cps[key]; ok && cp.Done {
		c.prog.resumed(c.src.Name, entityOf(key), cp.Fetched, cp.Total)
		return
	}
	select {
	case c.taskSlots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() { <-c.taskSlots }()
		if err := fn(ctx, key); err != nil && ctx.Err() == nil {
			c.fail(ctx, key, err)
		}
	}()
}

func entityOf(key string) string {
	e, _, _ := strings.Cut(key, "/")
	e, _, _ = strings.Cut(e, "@")
	return e
}

// fail records a failed task (the run will be incomplete).
func (c *crawler) fail(ctx context.Context, op string, err error) {
	var fe *fatalError
	if errors.As(err, &fe) {
		c.cancelSrc(fmt.Errorf("source %s: %w", c.src.Name, fe.err))
	}
	if !strings.Contains(err.Error(), op) {
		err = fmt.Errorf("%s: %w", op, err)
	}
	c.mu.Lock()
	c.failures = append(c.failures, err)
	c.mu.Unlock()
	c.errCount.Add(1)
	c.log.Error("task failed", "task", op, "err", err)
	_ = c.w.put(context.WithoutCancel(ctx), &rawstore.Batch{Errors: []rawstore.ErrorRow{{
		Run: c.run, Source: c.src.Name, At: time.Now(), Operation: op, Message: err.Error(),
	}}}, nil)
}

// call performs one request with retries. first is the page size, halved on
// gateway errors and timeouts and restored after a success. Partial GraphQL
// errors are returned as a list with a nil error.
func (c *crawler) call(ctx context.Context, op string, page, size int, first *int, do func(ctx context.Context, first int) error) (gqlerror.List, error) {
	for attempt := 1; ; attempt++ {
		if err := c.acquire(ctx); err != nil {
			return nil, err
		}
		c.requests.Add(1)
		actx, cancel := context.WithTimeout(ctx, c.src.Timeout)
		err := do(actx, *first)
		cancel()
		<-c.inflight
		var pe *PartialError
		if err == nil || errors.As(err, &pe) {
			*first = size
			if pe != nil {
				return pe.Errors, nil
			}
			return nil, nil
		}
		f := classify(ctx, err)
		if f.fatal {
			return nil, &fatalError{fmt.Errorf("%s page %d: %w", op, page, err)}
		}
		var ne *NulledError
		if errors.As(err, &ne) && attempt >= c.src.MaxAttempts {
			// Keep what the answer holds; the run will not infer
			// deletions (rawstore.ShortReadPrefix).
			*first = size
			c.log.Warn("short read", "op", op, "page", page, "nulled", ne.What, "attempts", attempt)
			return append(ne.Errors, &gqlerror.Error{Message: fmt.Sprintf("%s%s after %d attempts", rawstore.ShortReadPrefix, ne.What, attempt)}), nil
		}
		if !f.retry || attempt >= c.src.MaxAttempts {
			return nil, fmt.Errorf("source %s: %s page %d (first=%d) after %d attempt(s): %w", c.src.Name, op, page, *first, attempt, err)
		}
		if f.shrink && *first > 1 {
			*first = max(1, *first/2)
		}
		delay := c.backoff(attempt)
		if f.wait > delay {
			delay = min(f.wait, 5*time.Minute)
		}
		c.retries.Add(1)
		c.log.Warn("retry", "op", op, "page", page, "attempt", attempt, "delay", delay, "first", *first, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, context.Cause(ctx)
		}
	}
}

func (c *crawler) backoff(attempt int) time.Duration {
	d := c.src.RetryBase << (attempt - 1)
	if d <= 0 || d > c.src.RetryMax {
		d = c.src.RetryMax
	}
	// Equal jitter: half fixed, half random.
	return d/2 + rand.N(d/2+1)
}

func (c *crawler) acquire(ctx context.Context) error {
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return err
		}
	}
	select {
	case c.inflight <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// page is one decoded connection page.
type page struct {
	total   int64
	hasNext bool
	end     *string
	fetched int64 // edges delivered, including null and skipped ones
	rows    []rawstore.Row
	notes   gqlerror.List // data kept in a degraded form (messages start with NotePrefix)
	// nulled counts the edges that came back null; with partial errors,
	// errors hid those records (Project.contributions, whose Proposal
	// edges are always nulled, API.md §9.3, does not count them).
	nulled int
}

// paginate walks a connection from its checkpoint, committing every page
// with the task's new cursor.
func (c *crawler) paginate(ctx context.Context, key, entity, scope string, fetch func(ctx context.Context, first int, after *string) (page, error)) error {
	cp := c.cps[key]
	var after *string
	if cp.Cursor != "" {
		s := cp.Cursor
		after = &s
	}
	fetched := cp.Fetched
	size := c.pageSize(entity)
	first := size
	counted := cp.Total != nil
	if counted {
		c.prog.resumed(c.src.Name, entity, cp.Fetched, cp.Total)
	}
	// A connection that restarts or repeats (an offset cursor the server
	// could not parse restarts at 0, API.md §4) would loop forever: stop
	// at a cursor already returned or at two pages in a row whose rows were
	// all seen.
	seenCursors := map[string]bool{}
	if after != nil {
		seenCursors[*after] = true
	}
	seenRows := map[rowKey]struct{}{}
	repeats := 0 // consecutive pages of rows all seen before
	for n := 1; ; n++ {
		p, partial, err := c.fetchPage(ctx, key, n, size, &first, after, fetch)
		if err != nil {
			return err
		}
		if p.hasNext && (p.end == nil || *p.end == "" || (after != nil && *p.end == *after)) {
			return fmt.Errorf("source %s: %s page %d: hasNextPage without a new endCursor", c.src.Name, key, n)
		}
		if p.hasNext && seenCursors[*p.end] {
			return fmt.Errorf("source %s: %s page %d: repeated endCursor %q (the connection restarted or loops); stopped after %d edges", c.src.Name, key, n, *p.end, fetched)
		}
		if p.end != nil {
			seenCursors[*p.end] = true
		}
		// One such page can be a shift of an offset list (a project
		// published mid-crawl with a page size of 1); two in a row is a loop.
		if repeatedRows(seenRows, p.rows) {
			repeats++
		} else {
			repeats = 0
		}
		if repeats == 2 && p.hasNext {
			return fmt.Errorf("source %s: %s page %d: every record of two pages in a row was already seen (the connection restarted or loops); stopped after %d edges", c.src.Name, key, n, fetched)
		}
		fetched += p.fetched
		// An Elasticsearch list ends early when rows deleted in MySQL are
		// still indexed (API.md §4): hasNextPage is false although more
		// rows follow. Read on after the last cursor until a page brings
		// nothing new; what is still missing then was deleted.
		if !p.hasNext && p.fetched > 0 && repeats == 0 && fetched < p.total && p.end != nil && *p.end != "" && (after == nil || *p.end != *after) {
			c.log.Debug("list ended early: reading on", "task", key, "fetched", fetched, "totalCount", p.total)
			p.hasNext = true
		}
		if !counted {
			c.prog.addTotal(c.src.Name, entity, p.total)
			counted = true
		}
		total := p.total
		cursor := ""
		if p.end != nil {
			cursor = *p.end
		} else if after != nil {
			cursor = *after
		}
		b := &rawstore.Batch{
			Rows:        p.rows,
			Errors:      c.partialRows(key, append(partial, p.notes...)),
			Checkpoints: []rawstore.Checkpoint{{Source: c.src.Name, Task: key, Cursor: cursor, Done: !p.hasNext, Run: c.run, Fetched: fetched, Total: &total}},
		}
		if !p.hasNext {
			b.Audit = []rawstore.AuditRow{{Run: c.run, Source: c.src.Name, Entity: entity, Scope: scope, Fetched: fetched, Total: &total}}
			if fetched != total {
				c.log.Warn("count mismatch", "task", key, "fetched", fetched, "totalCount", total)
			}
			if fetched < total {
				// hasNextPage false early: Elasticsearch hits deleted in
				// MySQL shorten pages and can end a list (API.md §4).
				c.errCount.Add(1)
				b.Errors = append(b.Errors, rawstore.ErrorRow{Run: c.run, Source: c.src.Name, At: time.Now(), Operation: key,
					Message: fmt.Sprintf("%sconnection ended (hasNextPage false) after %d edges, totalCount %d", NotePrefix, fetched, total)})
			}
		}
		if err := c.w.put(ctx, b, c.onStats); err != nil {
			return err
		}
		c.prog.add(c.src.Name, entity, p.fetched)
		if !p.hasNext {
			return nil
		}
		after = p.end
	}
}

// fetchPage asks page n of connection key after a cursor, with call's
// retries; edges nulled by errors make the answer a *NulledError, retried.
func (c *crawler) fetchPage(ctx context.Context, key string, n, size int, first *int, after *string, fetch func(ctx context.Context, first int, after *string) (page, error)) (page, gqlerror.List, error) {
	var p page
	partial, err := c.call(ctx, key, n, size, first, func(ctx context.Context, first int) error {
		var e error
		p, e = fetch(ctx, first, after)
		if p.nulled > 0 {
			e = nulled(e, fmt.Sprintf("%d edges of %s", p.nulled, key))
		}
		return e
	})
	return p, partial, err
}

// rowKey identifies a row of a connection's pages.
type rowKey struct{ table, id string }

// repeatedRows reports whether a non-empty page holds only rows already in
// seen, and adds its rows to seen.
func repeatedRows(seen map[rowKey]struct{}, rows []rawstore.Row) bool {
	if len(rows) == 0 {
		return false
	}
	all := true
	for _, r := range rows {
		k := rowKey{r.Table, r.ID}
		if _, ok := seen[k]; !ok {
			all = false
			seen[k] = struct{}{}
		}
	}
	return all
}

// pageSize is the initial page size of an entity's connections: PageSize
// for heavy nodes (projects, proposals, replies), twice that (≤100) for
// small ones (votes, users, events, districts, contributions).
func (c *crawler) pageSize(entity string) int {
	switch entity {
	case "projects", "proposals", "replies":
		return c.src.PageSize
	}
	return min(100, 2*c.src.PageSize)
}

// single runs a one-request task and commits its rows with a done checkpoint.
func (c *crawler) single(ctx context.Context, key, entity string, fetch func(ctx context.Context) (*rawstore.Batch, int64, error)) error {
	first := c.src.PageSize
	var b *rawstore.Batch
	var n int64
	partial, err := c.call(ctx, key, 1, first, &first, func(ctx context.Context, _ int) error {
		var e error
		b, n, e = fetch(ctx)
		return e
	})
	if err != nil {
		return err
	}
	b.Errors = append(b.Errors, c.partialRows(key, partial)...)
	b.Checkpoints = append(b.Checkpoints, rawstore.Checkpoint{Source: c.src.Name, Task: key, Done: true, Run: c.run, Fetched: n, Total: &n})
	if err := c.w.put(ctx, b, c.onStats); err != nil {
		return err
	}
	c.prog.addTotal(c.src.Name, entity, n)
	c.prog.add(c.src.Name, entity, n)
	return nil
}

func (c *crawler) partialRows(op string, errs gqlerror.List) []rawstore.ErrorRow {
	if len(errs) == 0 {
		return nil
	}
	c.errCount.Add(int64(len(errs)))
	out := make([]rawstore.ErrorRow, 0, len(errs))
	now := time.Now()
	task, _, _ := strings.Cut(op, "/")
	c.repMu.Lock()
	for _, e := range errs {
		if strings.HasPrefix(e.Message, NotePrefix) {
			c.notes++
			continue
		}
		if c.refused == nil {
			c.refused = map[refusalKey]int64{}
		}
		c.refused[refusalKey{task, e.Message}]++
	}
	c.repMu.Unlock()
	for _, e := range errs {
		out = append(out, rawstore.ErrorRow{Run: c.run, Source: c.src.Name, At: now, Operation: op, Path: e.Path.String(), Message: e.Message})
	}
	return out
}

func (c *crawler) onStats(st rawstore.Stats) {
	c.repMu.Lock()
	defer c.repMu.Unlock()
	for k, n := range st.Records {
		if k.Source == c.src.Name {
			c.entity(k.Table).Records += n
		}
	}
	for k, n := range st.Changed {
		if k.Source == c.src.Name {
			c.entity(k.Table).Changed += n
		}
	}
}

func (c *crawler) entity(name string) *EntityStats {
	e := c.rep.Entities[name]
	if e == nil {
		e = &EntityStats{}
		c.rep.Entities[name] = e
	}
	return e
}

// observe tracks the latest participation instant (creation of proposals,
// votes and replies), parsing the wall-clock DateTime in the source's zone.
func (c *crawler) observe(d capco.DateTime) {
	t, err := d.In(c.loc)
	if err != nil {
		return // layout already validated when decoding
	}
	c.latestMu.Lock()
	if t.After(c.latest) {
		c.latest = t
	}
	c.latestMu.Unlock()
}

// marshal encodes a decoded node back to JSON without HTML escaping: the
// payload keeps the API's field names and values (dates as delivered). The
// result is an exact-size copy; the encoding buffer is reused.
func (c *crawler) marshal(v any) ([]byte, error) {
	buf, _ := c.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer c.bufs.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode payload: %w", err)
	}
	return bytes.Clone(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

func (c *crawler) row(table, id string, payload any, ctx ...any) (rawstore.Row, error) {
	b, err := c.marshal(payload)
	if err != nil {
		return rawstore.Row{}, fmt.Errorf("%s %s: %w", table, id, err)
	}
	return rawstore.Row{Table: table, Source: c.src.Name, Run: c.run, ID: id, Context: ctx, Payload: b}, nil
}
