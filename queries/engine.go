package queries

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
)

// TimeZone is the session time zone of every query: casts and extractions
// such as created_at::DATE, hour(created_at) or date_trunc('week', …) give
// local calendar values of the platforms, like the metrics datasets. Output
// timestamps are written in UTC (RFC 3339) whatever the zone.
const TimeZone = "Europe/Paris"

// Engine runs canned and ad-hoc queries on the current snapshot. It is safe
// for concurrent use. Reopen switches to a new snapshot without breaking the
// queries running on the previous one.
type Engine struct {
	limits  Limits
	load    bool
	tmpRoot string // parent of the snapshots' private directories ("": the system's)
	catalog *Catalog
	sem     chan struct{}

	mu     sync.Mutex
	cur    *snapshot
	closed bool
}

// An Option changes how Open opens snapshots.
type Option func(*Engine)

// LoadTables makes the engine copy every dataset of a snapshot it opens
// into a private DuckDB file (in a new directory under dir, or under the
// system's temporary directory when dir is "", deleted with the snapshot)
// and answer from those tables: a release snapshot's datasets are views
// over zstd Parquet, which queries read about 3× slower than DuckDB tables
// (docs/benchmarks.md). Opening costs the copy (seconds at the large
// scale) and its disk space; a long-running server wants it, a one-shot
// command does not. The queries then need no file access at all: external
// access is off without exception.
func LoadTables(dir string) Option {
	return func(e *Engine) { e.load, e.tmpRoot = true, dir }
}

// Open opens the snapshot at snapshotPath (symlinks such as DIR/latest are
// resolved once, so a later release switch does not affect this engine until
// Reopen) with the given limits.
func Open(ctx context.Context, snapshotPath string, limits Limits, opts ...Option) (*Engine, error) {
	cat, err := LoadCatalog()
	if err != nil {
		return nil, err
	}
	e := &Engine{limits: limits.withDefaults(), catalog: cat}
	for _, o := range opts {
		o(e)
	}
	e.sem = make(chan struct{}, e.limits.MaxConcurrent)
	if e.cur, err = openSnapshot(ctx, snapshotPath, e.limits, e.load, e.tmpRoot); err != nil {
		return nil, err
	}
	return e, nil
}

// Catalog returns the canned-query catalogue.
func (e *Engine) Catalog() *Catalog { return e.catalog }

// Limits returns the limits in force (defaults filled in).
func (e *Engine) Limits() Limits { return e.limits }

// SnapshotPath returns the resolved path of the current snapshot.
func (e *Engine) SnapshotPath() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil {
		return ""
	}
	return e.cur.path
}

// Reopen opens snapshotPath and makes it current. Queries already running
// finish on the previous snapshot, which is closed after the last of them.
func (e *Engine) Reopen(ctx context.Context, snapshotPath string) error {
	s, err := openSnapshot(ctx, snapshotPath, e.limits, e.load, e.tmpRoot)
	if err != nil {
		return err
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		s.close()
		return errorf(CodeUnavailable, "moteur de requêtes fermé")
	}
	old := e.cur
	e.cur = s
	closeOld := old != nil && old.retire()
	e.mu.Unlock()
	if closeOld {
		old.close()
	}
	return nil
}

// ReopenIfChanged reopens snapshotPath only if it now resolves to another
// file than the current snapshot (for example after DIR/latest was switched
// to a new release). It reports whether it reopened.
func (e *Engine) ReopenIfChanged(ctx context.Context, snapshotPath string) (bool, error) {
	resolved, err := filepath.EvalSymlinks(snapshotPath)
	if err != nil {
		return false, fmt.Errorf("resolve snapshot %s: %w", snapshotPath, err)
	}
	if resolved, err = filepath.Abs(resolved); err != nil {
		return false, fmt.Errorf("resolve snapshot %s: %w", snapshotPath, err)
	}
	if resolved == e.SnapshotPath() {
		return false, nil
	}
	if err := e.Reopen(ctx, resolved); err != nil {
		return false, err
	}
	return true, nil
}

// Close closes the engine; running queries finish first.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	old := e.cur
	e.cur = nil
	closeOld := old != nil && old.retire()
	e.mu.Unlock()
	if closeOld {
		return old.close()
	}
	return nil
}

func (e *Engine) acquire() (*snapshot, func(), error) {
	select {
	case e.sem <- struct{}{}:
	default:
		return nil, nil, errorf(CodeTooBusy, "trop de requêtes en cours (%d au plus), réessayez dans un instant", e.limits.MaxConcurrent)
	}
	e.mu.Lock()
	s := e.cur
	if s == nil {
		e.mu.Unlock()
		<-e.sem
		return nil, nil, errorf(CodeUnavailable, "moteur de requêtes fermé")
	}
	s.refs++
	e.mu.Unlock()
	release := func() {
		e.mu.Lock()
		s.refs--
		closeNow := s.retired && s.refs == 0
		e.mu.Unlock()
		if closeNow {
			s.close()
		}
		<-e.sem
		if s.broken.Load() && s.reopening.CompareAndSwap(false, true) {
			// In the background: the failing request is answered now
			// (with LoadTables, reopening copies the release again).
			go e.reopenBroken(s)
		}
	}
	return s, release, nil
}

// reopenBroken replaces a snapshot whose DuckDB instance reported a fatal
// or internal error, if it is still the current one.
func (e *Engine) reopenBroken(s *snapshot) {
	e.mu.Lock()
	current := e.cur == s
	e.mu.Unlock()
	if !current {
		return
	}
	slog.Warn("queries: reopening snapshot after an engine error", "path", s.path)
	if err := e.Reopen(context.Background(), s.path); err != nil {
		slog.Error("queries: reopen after an engine error failed", "path", s.path, "err", err)
		s.reopening.Store(false)
	}
}

// Tables lists the tables and views of the current snapshot.
func (e *Engine) Tables() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil {
		return nil
	}
	return sortedKeys(e.cur.tables)
}

// Run runs the canned query name with params (query-string values, typed
// and validated against the catalogue) and writes the result to w. CSV and
// Parquet stream the full result; JSON and table stop at Limits.MaxRows and
// say so.
func (e *Engine) Run(ctx context.Context, name string, params map[string]string, w io.Writer, format Format) error {
	q, ok := e.catalog.Query(name)
	if !ok {
		return errorf(CodeUnknownQuery, "requête %q inconnue (voir la liste des requêtes)", name)
	}
	values, err := q.Bind(params)
	if err != nil {
		return err
	}
	args := make([]any, 0, len(values))
	for k, v := range values {
		args = append(args, sql.Named(k, v))
	}
	s, release, err := e.acquire()
	if err != nil {
		return err
	}
	defer release()
	timeout := e.limits.Timeout
	if format == FormatCSV || format == FormatParquet {
		timeout = e.limits.ExportTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if format == FormatParquet {
		return s.copyParquet(ctx, q, args, w)
	}
	c, put, err := s.conn(ctx)
	if err != nil {
		return s.classify(ctx, err)
	}
	defer put()
	rows, err := c.QueryContext(ctx, q.SQL, args...)
	if err != nil {
		return s.classify(ctx, err)
	}
	defer rows.Close()
	limit := e.limits.MaxRows
	if format == FormatCSV {
		limit = 0
	}
	if err := writeRows(rows, w, format, limit, false); err != nil {
		return s.classify(ctx, err)
	}
	return nil
}

// SQL runs one guarded, read-only ad-hoc statement and writes the result to
// w (JSON or table: at most Limits.MaxRows rows, flagged when truncated;
// CSV: refused with result_too_large past Limits.MaxExportRows). Parquet is
// not offered for ad-hoc SQL.
func (e *Engine) SQL(ctx context.Context, sqlText string, w io.Writer, format Format) error {
	if len(sqlText) > e.limits.MaxSQLBytes {
		return errorf(CodeSQLTooLarge, "requête SQL trop longue (%d octets, %d au plus)", len(sqlText), e.limits.MaxSQLBytes)
	}
	if format == FormatParquet {
		return errorf(CodeInvalidFormat, "le format parquet est réservé aux requêtes du catalogue ; utilisez csv ou json")
	}
	if strings.TrimSpace(sqlText) == "" {
		return errorf(CodeInvalidSQL, "requête SQL vide")
	}
	s, release, err := e.acquire()
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, e.limits.Timeout)
	defer cancel()
	c, put, err := s.conn(ctx)
	if err != nil {
		return s.classify(ctx, err)
	}
	defer put()
	tree, err := s.check(ctx, c, sqlText)
	if err != nil {
		return err
	}
	limit := e.limits.MaxRows
	if format == FormatCSV {
		limit = e.limits.MaxExportRows
	}
	rows, err := s.queryLimited(ctx, c, sqlText, tree, limit)
	if err != nil {
		return s.classify(ctx, err)
	}
	defer rows.Close()
	if err := writeRows(rows, w, format, limit, format == FormatCSV); err != nil {
		return s.classify(ctx, err)
	}
	return nil
}
