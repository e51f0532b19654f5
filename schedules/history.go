package schedules

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DB is the part of *sql.DB the history needs (a *sql.DB or *sql.Conn on
// the working DuckDB database).
type DB interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const historySchema = `
CREATE SCHEMA IF NOT EXISTS jobs;
CREATE TABLE IF NOT EXISTS jobs.runs (
	run_id       BIGINT NOT NULL,
	job          VARCHAR NOT NULL,
	trigger      VARCHAR NOT NULL,
	status       VARCHAR NOT NULL,
	queued_at    TIMESTAMPTZ NOT NULL,
	started_at   TIMESTAMPTZ,
	finished_at  TIMESTAMPTZ,
	duration_s   DOUBLE,
	error        VARCHAR
);`

// dbTimeout bounds each history statement: a busy working database (for
// example a pool of one connection held by a long ingest) must not block the
// scheduler or an HTTP trigger.
const dbTimeout = 5 * time.Second

// history records runs in the database (when set) and in a bounded
// in-memory list. Run ids are assigned here: the pipeline process is the only
// writer of the working database.
type history struct {
	db   DB
	size int
	now  func() time.Time

	mu     sync.Mutex
	nextID int64
	recent []Run // oldest first, at most size
}

func newHistory(ctx context.Context, db DB, size int, now func() time.Time) (*history, error) {
	h := &history{db: db, size: size, now: now, nextID: 1}
	if db == nil {
		return h, nil
	}
	if _, err := db.ExecContext(ctx, historySchema); err != nil {
		return nil, fmt.Errorf("schedules: create jobs schema: %w", err)
	}
	var maxID sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(run_id) FROM jobs.runs`).Scan(&maxID); err != nil {
		return nil, fmt.Errorf("schedules: read jobs.runs: %w", err)
	}
	if maxID.Valid {
		h.nextID = maxID.Int64 + 1
	}
	// Runs left open by a process that died are over.
	if _, err := db.ExecContext(ctx, `UPDATE jobs.runs
		SET status = ?, finished_at = coalesce(finished_at, ?), error = coalesce(error, 'process exited during the run')
		WHERE status IN (?, ?)`, StatusInterrupted, now(), StatusQueued, StatusRunning); err != nil {
		return nil, fmt.Errorf("schedules: close stale runs: %w", err)
	}
	return h, nil
}

// insert assigns r.ID and stores r. Database errors are logged, not
// returned: a history failure must not stop the pipeline.
func (h *history) insert(ctx context.Context, r *Run, log *slog.Logger) {
	h.mu.Lock()
	r.ID = h.nextID
	h.nextID++
	h.recent = append(h.recent, *r)
	if len(h.recent) > h.size {
		h.recent = append(h.recent[:0:0], h.recent[len(h.recent)-h.size:]...)
	}
	h.mu.Unlock()
	if h.db == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	_, err := h.db.ExecContext(ctx, `INSERT INTO jobs.runs
		(run_id, job, trigger, status, queued_at, started_at, finished_at, duration_s, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Job, r.Trigger, r.Status, r.QueuedAt.UTC(), nullTime(r.StartedAt), nullTime(r.FinishedAt),
		r.DurationSec, nullString(r.Error))
	if err != nil {
		log.Error("record job run", "job", r.Job, "run", r.ID, "error", err)
	}
}

func (h *history) update(ctx context.Context, r Run, log *slog.Logger) {
	h.mu.Lock()
	for i := len(h.recent) - 1; i >= 0; i-- {
		if h.recent[i].ID == r.ID {
			h.recent[i] = r
			break
		}
	}
	h.mu.Unlock()
	if h.db == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	_, err := h.db.ExecContext(ctx, `UPDATE jobs.runs
		SET status = ?, started_at = ?, finished_at = ?, duration_s = ?, error = ?
		WHERE run_id = ?`,
		r.Status, nullTime(r.StartedAt), nullTime(r.FinishedAt), r.DurationSec, nullString(r.Error), r.ID)
	if err != nil {
		log.Error("update job run", "job", r.Job, "run", r.ID, "error", err)
	}
}

// list reads the database; if it cannot (busy, closed), it logs and
// returns the runs of this process kept in memory.
func (h *history) list(ctx context.Context, limit int, log *slog.Logger) ([]Run, error) {
	if h.db != nil {
		runs, err := h.listDB(ctx, limit)
		if err == nil {
			return runs, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		log.Warn("job history from memory", "error", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Run, 0, min(limit, len(h.recent)))
	for i := len(h.recent) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, h.recent[i])
	}
	return out, nil
}

func (h *history) listDB(ctx context.Context, limit int) ([]Run, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	return ReadHistory(ctx, h.db, limit)
}

// ReadHistory returns the newest limit runs recorded in db's job history,
// newest first (none when the history was never created).
func ReadHistory(ctx context.Context, db DB, limit int) ([]Run, error) {
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT count(*) > 0 FROM duckdb_tables() WHERE schema_name = 'jobs' AND table_name = 'runs'`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("schedules: read history: %w", err)
	}
	if !exists {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT run_id, job, trigger, status, queued_at, started_at, finished_at,
		coalesce(duration_s, 0), coalesce(error, '')
		FROM jobs.runs ORDER BY run_id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("schedules: read history: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started, finished sql.NullTime
		if err := rows.Scan(&r.ID, &r.Job, &r.Trigger, &r.Status, &r.QueuedAt, &started, &finished, &r.DurationSec, &r.Error); err != nil {
			return nil, fmt.Errorf("schedules: read history: %w", err)
		}
		r.QueuedAt = r.QueuedAt.UTC()
		if started.Valid {
			t := started.Time.UTC()
			r.StartedAt = &t
		}
		if finished.Valid {
			t := finished.Time.UTC()
			r.FinishedAt = &t
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("schedules: read history: %w", err)
	}
	return out, nil
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
