package rawstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/capstat/capstat/internal/duckdbx"
)

// Row is one entity record to upsert.
type Row struct {
	Table   string // entity table name (Projects, Steps…)
	Source  string
	Run     int64
	ID      string
	Context []any // one value per context column of the table, in order: string, int32 or nil
	Payload []byte
}

// AuthorUpdate sets author_id of a proposal or reply.
type AuthorUpdate struct {
	Table    string // Proposals or Replies
	Source   string
	Run      int64
	ID       string
	AuthorID *string
}

// Checkpoint is the resume state of one crawl task.
type Checkpoint struct {
	Source  string
	Task    string
	Cursor  string
	Done    bool
	Run     int64
	Fetched int64
	Total   *int64
}

// ErrorRow is a partial GraphQL error or a failure worth keeping.
type ErrorRow struct {
	Run       int64
	Source    string
	At        time.Time
	Operation string
	Path      string
	Message   string
}

// AuditRow compares what a connection delivered with its totalCount.
type AuditRow struct {
	Run     int64
	Source  string
	Entity  string
	Scope   string
	Fetched int64
	Total   *int64
}

// Carry kinds: the scopes an incremental run does not re-read and whose
// stored rows it keeps (FinishRun marks no deletion in them).
const (
	CarryUsers          = "users"          // raw.users (scope "")
	CarrySteps          = "steps"          // raw.proposal_steps of a step (scope: step id)
	CarryQuestionnaires = "questionnaires" // raw.questions and raw.replies of a questionnaire
	CarryContributions  = "contributions"  // raw.contributions of a project
	CarryVotes          = "votes"          // raw.proposal_votes of a proposal
)

// Carry records that a run keeps the stored rows of one scope: it checked
// (or the staleness bound lets it assume) that they did not change.
type Carry struct {
	Source string
	Run    int64
	Kind   string // Carry* constant
	Scope  string
}

// Batch is a unit of work committed atomically.
type Batch struct {
	Rows        []Row
	Authors     []AuthorUpdate
	Checkpoints []Checkpoint
	Errors      []ErrorRow
	Audit       []AuditRow
	Carry       []Carry
}

// Add appends o's content to b.
func (b *Batch) Add(o *Batch) {
	b.Rows = append(b.Rows, o.Rows...)
	b.Authors = append(b.Authors, o.Authors...)
	b.Checkpoints = append(b.Checkpoints, o.Checkpoints...)
	b.Errors = append(b.Errors, o.Errors...)
	b.Audit = append(b.Audit, o.Audit...)
	b.Carry = append(b.Carry, o.Carry...)
}

// PayloadBytes is the size of the batch's payloads.
func (b *Batch) PayloadBytes() int {
	n := 0
	for _, r := range b.Rows {
		n += len(r.Payload)
	}
	return n
}

// Empty reports whether the batch holds nothing.
func (b *Batch) Empty() bool {
	return len(b.Rows)+len(b.Authors)+len(b.Checkpoints)+len(b.Errors)+len(b.Audit)+len(b.Carry) == 0
}

// Key identifies a source × entity table pair in statistics.
type Key struct{ Source, Table string }

// Stats counts what a commit did.
type Stats struct {
	Records map[Key]int64 // distinct rows written
	Changed map[Key]int64 // rows new, modified or revived
}

func newStats() Stats { return Stats{Records: map[Key]int64{}, Changed: map[Key]int64{}} }

// Store writes the raw tables through one dedicated connection.
type Store struct {
	db       *sql.DB
	conn     *sql.Conn
	specs    map[string]tableSpec
	order    []tableSpec
	stageDDL map[string]string // staging table DDL by name
}

// Open creates the raw schema if needed and prepares the staging tables.
// The Store holds one connection of db until Close.
func Open(ctx context.Context, db *sql.DB) (*Store, error) {
	if err := Init(ctx, db); err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("rawstore: connection: %w", err)
	}
	stage := stageDDL()
	for _, q := range stage {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.Close()
			return nil, fmt.Errorf("rawstore: staging tables: %w", err)
		}
	}
	s := &Store{db: db, conn: conn, specs: map[string]tableSpec{}, order: specs(), stageDDL: stage}
	for _, sp := range s.order {
		s.specs[sp.name] = sp
	}
	return s, nil
}

// Init creates the raw schema and tables if they do not exist.
func Init(ctx context.Context, db *sql.DB) error {
	if err := duckdbx.Exec(ctx, db, ddl()...); err != nil {
		return fmt.Errorf("rawstore: create raw tables: %w", err)
	}
	return nil
}

// Close releases the store's connection.
func (s *Store) Close() error { return s.conn.Close() }

// DB returns the database the store writes to.
func (s *Store) DB() *sql.DB { return s.db }

// Commit writes a batch atomically: staged rows are merged, authors updated,
// checkpoints, errors and audit rows written, all in one transaction.
func (s *Store) Commit(ctx context.Context, b *Batch) (Stats, error) {
	st := newStats()
	byTable, err := s.dedupe(b.Rows)
	if err != nil {
		return st, err
	}
	defer s.clearStage(context.WithoutCancel(ctx), byTable, len(b.Authors) > 0)
	if err := s.stage(ctx, byTable, b.Authors); err != nil {
		return st, err
	}
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("rawstore: begin: %w", err)
	}
	defer tx.Rollback()
	for _, sp := range s.order {
		rows := byTable[sp.name]
		if len(rows) == 0 {
			continue
		}
		for _, r := range rows {
			st.Records[Key{r.Source, sp.name}]++
		}
		if err := s.merge(ctx, tx, sp, len(rows), st.Changed); err != nil {
			return st, err
		}
	}
	if len(b.Authors) > 0 {
		for _, name := range []string{Proposals, Replies} {
			sp := s.specs[name]
			q := fmt.Sprintf(`SELECT a.source, count(*) FROM stage_authors a
JOIN (SELECT source, id, author_id, first_seen_run FROM raw.%s WHERE id IN (SELECT id FROM stage_authors)) t ON t.source = a.source AND t.id = a.id
WHERE a.tbl = '%s' AND t.author_id IS DISTINCT FROM a.author_id AND t.first_seen_run < a.run GROUP BY a.source`, name, name)
			if err := groupCount(ctx, tx, q, name, st.Changed); err != nil {
				return st, err
			}
			if _, err := tx.ExecContext(ctx, authorSQL(sp)); err != nil {
				return st, fmt.Errorf("rawstore: update authors of raw.%s: %w", name, err)
			}
		}
	}
	if err := writeCheckpoints(ctx, tx, b.Checkpoints); err != nil {
		return st, err
	}
	if err := writeErrors(ctx, tx, b.Errors); err != nil {
		return st, err
	}
	if err := writeAudit(ctx, tx, b.Audit); err != nil {
		return st, err
	}
	if err := writeCarry(ctx, tx, b.Carry); err != nil {
		return st, err
	}
	if err := tx.Commit(); err != nil {
		return st, fmt.Errorf("rawstore: commit: %w", err)
	}
	return st, nil
}

// merge merges stage_<table> (n rows) into raw.<table>.
func (s *Store) merge(ctx context.Context, tx *sql.Tx, sp tableSpec, n int, changed map[Key]int64) error {
	m := mergeSQL(sp)
	if _, err := tx.ExecContext(ctx, m.join); err != nil {
		return fmt.Errorf("rawstore: merge raw.%s (join): %w", sp.name, err)
	}
	rs, err := tx.QueryContext(ctx, m.counts)
	if err != nil {
		return fmt.Errorf("rawstore: merge raw.%s (count): %w", sp.name, err)
	}
	var unchanged, rewritten int64
	for rs.Next() {
		var src string
		var c, u, r int64
		if err := rs.Scan(&src, &c, &u, &r); err != nil {
			rs.Close()
			return fmt.Errorf("rawstore: merge raw.%s (count): %w", sp.name, err)
		}
		changed[Key{src, sp.name}] += c
		unchanged, rewritten = unchanged+u, rewritten+r
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return fmt.Errorf("rawstore: merge raw.%s (count): %w", sp.name, err)
	}
	if unchanged > 0 {
		if _, err := tx.ExecContext(ctx, m.touch); err != nil {
			return fmt.Errorf("rawstore: merge raw.%s (seen): %w", sp.name, err)
		}
	}
	if rewritten > 0 {
		if _, err := tx.ExecContext(ctx, m.update); err != nil {
			return fmt.Errorf("rawstore: merge raw.%s (update): %w", sp.name, err)
		}
	}
	if unchanged+rewritten < int64(n) {
		if _, err := tx.ExecContext(ctx, m.insert); err != nil {
			return fmt.Errorf("rawstore: merge raw.%s (insert): %w", sp.name, err)
		}
	}
	return nil
}

func groupCount(ctx context.Context, tx *sql.Tx, q, table string, into map[Key]int64) error {
	rs, err := tx.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("rawstore: count changes of raw.%s: %w", table, err)
	}
	defer rs.Close()
	for rs.Next() {
		var src string
		var n int64
		if err := rs.Scan(&src, &n); err != nil {
			return fmt.Errorf("rawstore: count changes of raw.%s: %w", table, err)
		}
		into[Key{src, table}] += n
	}
	return rs.Err()
}

// dedupe groups rows by table and keeps one row per (source, id): the last
// one, except that a NULL context value never replaces a known one.
func (s *Store) dedupe(rows []Row) (map[string][]Row, error) {
	out := map[string][]Row{}
	idx := map[string]map[[2]string]int{}
	for _, r := range rows {
		sp, ok := s.specs[r.Table]
		if !ok {
			return nil, fmt.Errorf("rawstore: unknown table %q", r.Table)
		}
		if len(r.Context) != len(sp.ctx) {
			return nil, fmt.Errorf("rawstore: raw.%s wants %d context values, got %d", r.Table, len(sp.ctx), len(r.Context))
		}
		m := idx[r.Table]
		if m == nil {
			m = map[[2]string]int{}
			idx[r.Table] = m
		}
		k := [2]string{r.Source, r.ID}
		if i, dup := m[k]; dup {
			prev := out[r.Table][i]
			ctx := append([]any(nil), r.Context...)
			for j := range ctx {
				if ctx[j] == nil {
					ctx[j] = prev.Context[j]
				}
			}
			r.Context = ctx
			out[r.Table][i] = r
			continue
		}
		m[k] = len(out[r.Table])
		out[r.Table] = append(out[r.Table], r)
	}
	return out, nil
}

func (s *Store) stage(ctx context.Context, byTable map[string][]Row, authors []AuthorUpdate) error {
	return s.conn.Raw(func(dc any) error {
		conn, ok := dc.(driver.Conn)
		if !ok {
			return errors.New("rawstore: driver connection is not a driver.Conn")
		}
		for _, sp := range s.order {
			rows := byTable[sp.name]
			if len(rows) == 0 {
				continue
			}
			if err := appendRows(conn, "stage_"+sp.name, func(a *duckdb.Appender) error {
				vals := make([]driver.Value, 0, len(sp.ctx)+4)
				for _, r := range rows {
					vals = vals[:0]
					vals = append(vals, r.Source, r.ID)
					for _, c := range r.Context {
						vals = append(vals, c)
					}
					vals = append(vals, string(r.Payload), r.Run)
					if err := a.AppendRow(vals...); err != nil {
						return fmt.Errorf("raw.%s id %s: %w", sp.name, r.ID, err)
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		if len(authors) == 0 {
			return nil
		}
		return appendRows(conn, "stage_authors", func(a *duckdb.Appender) error {
			for _, u := range authors {
				var author driver.Value
				if u.AuthorID != nil {
					author = *u.AuthorID
				}
				if err := a.AppendRow(u.Table, u.Source, u.ID, author, u.Run); err != nil {
					return fmt.Errorf("author of %s %s: %w", u.Table, u.ID, err)
				}
			}
			return nil
		})
	})
}

func appendRows(conn driver.Conn, table string, fill func(*duckdb.Appender) error) error {
	a, err := duckdb.NewAppender(conn, "temp", "main", table)
	if err != nil {
		return fmt.Errorf("rawstore: appender %s: %w", table, err)
	}
	if err := fill(a); err != nil {
		a.Close()
		return fmt.Errorf("rawstore: stage %s: %w", table, err)
	}
	if err := a.Close(); err != nil {
		return fmt.Errorf("rawstore: flush %s: %w", table, err)
	}
	return nil
}

// clearStage empties the staging tables a commit used (see stageDDL).
func (s *Store) clearStage(ctx context.Context, byTable map[string][]Row, authors bool) {
	var names []string
	for name := range byTable {
		names = append(names, "stage_"+name, "merge_"+name)
	}
	if authors {
		names = append(names, "stage_authors")
	}
	// One statement string: each Exec costs a round of the driver.
	var b strings.Builder
	for _, t := range names {
		b.WriteString(s.stageDDL[t])
		b.WriteString(";\n")
	}
	_, _ = s.conn.ExecContext(ctx, b.String())
}

// execValues runs a multi-row INSERT "prefix VALUES (…),(…) suffix" in chunks.
func execValues(ctx context.Context, tx *sql.Tx, prefix, suffix string, ncol int, rows [][]any) error {
	const chunk = 200
	ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncol), ", ") + ")"
	for start := 0; start < len(rows); start += chunk {
		end := min(start+chunk, len(rows))
		var args []any
		var vals []string
		for _, r := range rows[start:end] {
			vals = append(vals, ph)
			args = append(args, r...)
		}
		q := prefix + " VALUES " + strings.Join(vals, ", ") + " " + suffix
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

func writeCheckpoints(ctx context.Context, tx *sql.Tx, cps []Checkpoint) error {
	if len(cps) == 0 {
		return nil
	}
	last := map[[2]string]Checkpoint{}
	var keys [][2]string
	for _, c := range cps {
		k := [2]string{c.Source, c.Task}
		if _, ok := last[k]; !ok {
			keys = append(keys, k)
		}
		last[k] = c
	}
	rows := make([][]any, 0, len(keys))
	for _, k := range keys {
		c := last[k]
		rows = append(rows, []any{c.Source, c.Task, c.Cursor, c.Done, c.Run, c.Fetched, nullInt(c.Total)})
	}
	err := execValues(ctx, tx, "INSERT INTO raw.checkpoints (source, task, cursor, done, run_id, fetched, total_count)",
		"ON CONFLICT (source, task) DO UPDATE SET cursor = excluded.cursor, done = excluded.done, run_id = excluded.run_id, fetched = excluded.fetched, total_count = excluded.total_count",
		7, rows)
	if err != nil {
		return fmt.Errorf("rawstore: write checkpoints: %w", err)
	}
	return nil
}

func writeErrors(ctx context.Context, tx *sql.Tx, es []ErrorRow) error {
	if len(es) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(es))
	for _, e := range es {
		rows = append(rows, []any{e.Run, e.Source, e.At.UTC(), e.Operation, e.Path, e.Message})
	}
	if err := execValues(ctx, tx, "INSERT INTO raw.ingest_errors (run_id, source, \"at\", operation, path, message)", "", 6, rows); err != nil {
		return fmt.Errorf("rawstore: write errors: %w", err)
	}
	return nil
}

func writeAudit(ctx context.Context, tx *sql.Tx, as []AuditRow) error {
	if len(as) == 0 {
		return nil
	}
	last := map[[4]any]AuditRow{}
	var keys [][4]any
	for _, a := range as {
		k := [4]any{a.Run, a.Source, a.Entity, a.Scope}
		if _, ok := last[k]; !ok {
			keys = append(keys, k)
		}
		last[k] = a
	}
	rows := make([][]any, 0, len(keys))
	for _, k := range keys {
		a := last[k]
		rows = append(rows, []any{a.Run, a.Source, a.Entity, a.Scope, a.Fetched, nullInt(a.Total)})
	}
	err := execValues(ctx, tx, "INSERT INTO raw.ingest_audit (run_id, source, entity, scope_id, fetched, total_count)",
		"ON CONFLICT (run_id, source, entity, scope_id) DO UPDATE SET fetched = excluded.fetched, total_count = excluded.total_count", 6, rows)
	if err != nil {
		return fmt.Errorf("rawstore: write audit: %w", err)
	}
	return nil
}

func writeCarry(ctx context.Context, tx *sql.Tx, cs []Carry) error {
	if len(cs) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, []any{c.Source, c.Run, c.Kind, c.Scope})
	}
	if err := execValues(ctx, tx, "INSERT INTO raw.ingest_carry (source, run_id, kind, scope_id)", "ON CONFLICT DO NOTHING", 4, rows); err != nil {
		return fmt.Errorf("rawstore: write carried scopes: %w", err)
	}
	return nil
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// SourceInfo is what raw.sources records about a source.
type SourceInfo struct {
	Name, Endpoint, Timezone string
	Locales                  []string
}

// Run modes (raw.ingest_runs.mode).
const (
	ModeFull        = "full"
	ModeIncremental = "incremental"
)

// RunState is the outcome of BeginRun.
type RunState struct {
	Run         int64
	Resumed     bool
	Mode        string                // ModeFull or ModeIncremental
	Checkpoints map[string]Checkpoint // by task, empty for a fresh run
	// LastFullRun and LastFullStarted are the source's last complete full
	// sweep (0 and zero time if none): an incremental run's baseline.
	LastFullRun     int64
	LastFullStarted time.Time
}

// NextRunID returns a run id larger than any recorded one.
func (s *Store) NextRunID(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(run_id), 0) + 1 FROM raw.ingest_runs`).Scan(&n); err != nil {
		return 0, fmt.Errorf("rawstore: next run id: %w", err)
	}
	return n, nil
}

// BeginRun registers the source and either resumes its unfinished run (one
// left "running" or "failed" with checkpoints) in its mode, or starts run
// newRun: incremental when the source has a complete full sweep and full is
// false, else full. An unfinished incremental run is abandoned (marked
// failed, checkpoints dropped) when full is true.
func (s *Store) BeginRun(ctx context.Context, src SourceInfo, newRun int64, now time.Time, full bool) (RunState, error) {
	locales := "[]"
	if len(src.Locales) > 0 {
		locales = "['" + strings.Join(escapeAll(src.Locales), "', '") + "']"
	}
	_, err := s.conn.ExecContext(ctx, `INSERT INTO raw.sources (source, endpoint, timezone, locales) VALUES (?, ?, ?, `+locales+`::VARCHAR[])
ON CONFLICT (source) DO UPDATE SET endpoint = excluded.endpoint, timezone = excluded.timezone, locales = excluded.locales`,
		src.Name, src.Endpoint, src.Timezone)
	if err != nil {
		return RunState{}, fmt.Errorf("rawstore: register source %s: %w", src.Name, err)
	}
	var prev sql.NullInt64
	err = s.conn.QueryRowContext(ctx, `SELECT max(r.run_id) FROM raw.ingest_runs r
WHERE r.source = ? AND r.status IN ('running', 'failed')
AND r.run_id = (SELECT max(run_id) FROM raw.ingest_runs WHERE source = ?)
AND EXISTS (SELECT 1 FROM raw.checkpoints c WHERE c.source = r.source AND c.run_id = r.run_id)`, src.Name, src.Name).Scan(&prev)
	if err != nil {
		return RunState{}, fmt.Errorf("rawstore: find unfinished run of %s: %w", src.Name, err)
	}
	st := RunState{Checkpoints: map[string]Checkpoint{}, Mode: ModeFull}
	var lastFull sql.NullInt64
	var lastFullAt sql.NullTime
	if err := s.conn.QueryRowContext(ctx, `SELECT last_full_run, last_full_started_at FROM raw.sources WHERE source = ?`, src.Name).Scan(&lastFull, &lastFullAt); err != nil {
		return st, fmt.Errorf("rawstore: read last full sweep of %s: %w", src.Name, err)
	}
	st.LastFullRun, st.LastFullStarted = lastFull.Int64, lastFullAt.Time
	if prev.Valid {
		var mode string
		if err := s.conn.QueryRowContext(ctx, `SELECT coalesce(mode, 'full') FROM raw.ingest_runs WHERE run_id = ? AND source = ?`, prev.Int64, src.Name).Scan(&mode); err != nil {
			return st, fmt.Errorf("rawstore: read run %d of %s: %w", prev.Int64, src.Name, err)
		}
		if full && mode != ModeFull {
			if _, err := s.conn.ExecContext(ctx, `UPDATE raw.ingest_runs SET status = 'failed', finished_at = ?, message = 'abandoned for a full sweep' WHERE run_id = ? AND source = ?`, now.UTC(), prev.Int64, src.Name); err != nil {
				return st, fmt.Errorf("rawstore: abandon run %d of %s: %w", prev.Int64, src.Name, err)
			}
			prev.Valid = false
		} else {
			st.Mode = mode
		}
	}
	if prev.Valid {
		st.Run, st.Resumed = prev.Int64, true
		if _, err := s.conn.ExecContext(ctx, `UPDATE raw.ingest_runs SET status = 'running', finished_at = NULL WHERE run_id = ? AND source = ?`, st.Run, src.Name); err != nil {
			return st, fmt.Errorf("rawstore: resume run %d of %s: %w", st.Run, src.Name, err)
		}
		rs, err := s.conn.QueryContext(ctx, `SELECT task, coalesce(cursor, ''), done, fetched, total_count FROM raw.checkpoints WHERE source = ? AND run_id = ?`, src.Name, st.Run)
		if err != nil {
			return st, fmt.Errorf("rawstore: read checkpoints of %s: %w", src.Name, err)
		}
		defer rs.Close()
		for rs.Next() {
			c := Checkpoint{Source: src.Name, Run: st.Run}
			var total sql.NullInt64
			if err := rs.Scan(&c.Task, &c.Cursor, &c.Done, &c.Fetched, &total); err != nil {
				return st, fmt.Errorf("rawstore: read checkpoints of %s: %w", src.Name, err)
			}
			if total.Valid {
				c.Total = &total.Int64
			}
			st.Checkpoints[c.Task] = c
		}
		return st, rs.Err()
	}
	st.Run = newRun
	if !full && lastFull.Valid {
		st.Mode = ModeIncremental
	}
	for _, q := range []string{`DELETE FROM raw.checkpoints WHERE source = ?`, `DELETE FROM raw.ingest_carry WHERE source = ?`} {
		if _, err := s.conn.ExecContext(ctx, q, src.Name); err != nil {
			return st, fmt.Errorf("rawstore: clear checkpoints of %s: %w", src.Name, err)
		}
	}
	if _, err := s.conn.ExecContext(ctx, `INSERT INTO raw.ingest_runs (run_id, source, started_at, status, mode) VALUES (?, ?, ?, 'running', ?)`, newRun, src.Name, now.UTC(), st.Mode); err != nil {
		return st, fmt.Errorf("rawstore: start run %d of %s: %w", newRun, src.Name, err)
	}
	return st, nil
}

func escapeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ReplaceAll(s, "'", "''")
	}
	return out
}

// RunTotals are the counters a run adds to raw.ingest_runs.
type RunTotals struct {
	Requests, Bytes, Retries, Records, Changed, Errors int64
}

// ShortReadPrefix starts the message of an error row recording that the
// API nulled data a list should have held (a node or edges nulled by an
// error, after retries): a run with such a row is complete but cannot tell
// deleted records from hidden ones.
const ShortReadPrefix = "note: short read: "

// FinishRun closes a run. When complete, the checkpoints are dropped and,
// unless the run recorded a short read (ShortReadPrefix, in any of its
// segments), every entity row of the source not seen by the run is marked
// deleted, except in the scopes the run carried (raw.ingest_carry, see
// deletionSQL); the deleted counts per table are returned. A complete full
// run becomes the source's last full sweep.
func (s *Store) FinishRun(ctx context.Context, source string, run int64, complete bool, t RunTotals, message string, now time.Time) (map[string]int64, error) {
	deleted := map[string]int64{}
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("rawstore: finish run %d of %s: %w", run, source, err)
	}
	defer tx.Rollback()
	status := "failed"
	var total, short int64
	if complete {
		status = "complete"
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM raw.ingest_errors WHERE run_id = ? AND source = ? AND starts_with(message, ?)`, run, source, ShortReadPrefix).Scan(&short); err != nil {
			return nil, fmt.Errorf("rawstore: finish run %d of %s: %w", run, source, err)
		}
		if short > 0 {
			message = strings.TrimPrefix(message+"; ", "; ") + fmt.Sprintf("deletions not inferred: %d lists read short (raw.ingest_errors)", short)
		}
	}
	if complete && short == 0 {
		for _, d := range deletionSQL() {
			res, err := tx.ExecContext(ctx, d.sql, run, source, run)
			if err != nil {
				return nil, fmt.Errorf("rawstore: mark deletions in raw.%s: %w", d.table, err)
			}
			n, _ := res.RowsAffected()
			if n > 0 {
				deleted[d.table] = n
			}
			total += n
		}
	}
	if complete {
		if _, err := tx.ExecContext(ctx, `UPDATE raw.sources SET last_complete_run = ? WHERE source = ?`, run, source); err != nil {
			return nil, fmt.Errorf("rawstore: finish run %d of %s: %w", run, source, err)
		}
		for _, q := range []string{`DELETE FROM raw.checkpoints WHERE source = ?`, `DELETE FROM raw.ingest_carry WHERE source = ?`} {
			if _, err := tx.ExecContext(ctx, q, source); err != nil {
				return nil, fmt.Errorf("rawstore: finish run %d of %s: %w", run, source, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE raw.sources SET last_full_run = r.run_id, last_full_started_at = r.started_at
FROM raw.ingest_runs r WHERE r.run_id = ? AND r.source = ? AND r.mode = 'full' AND raw.sources.source = r.source`, run, source); err != nil {
			return nil, fmt.Errorf("rawstore: finish run %d of %s: %w", run, source, err)
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE raw.ingest_runs SET finished_at = ?, status = ?, requests = requests + ?, bytes = bytes + ?, retries = retries + ?,
records = records + ?, changed = changed + ?, deleted = deleted + ?, errors = errors + ?, message = ? WHERE run_id = ? AND source = ?`,
		now.UTC(), status, t.Requests, t.Bytes, t.Retries, t.Records, t.Changed, total, t.Errors, message, run, source)
	if err != nil {
		return nil, fmt.Errorf("rawstore: finish run %d of %s: %w", run, source, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("rawstore: finish run %d of %s: %w", run, source, err)
	}
	return deleted, nil
}

// deletion is the statement marking the deleted rows of one table; its
// parameters are (run, source, run).
type deletion struct{ table, sql string }

// deletionSQL returns, in order, the statements that mark as deleted the
// rows a complete run did not see, outside the scopes it carried:
//
//   - users: unless the run carried the user list;
//   - contributions (per project), questions and replies (per
//     questionnaire), proposal_steps (per step): unless their scope was
//     carried;
//   - proposals: those left with no live proposal_steps row (a proposal is
//     alive while some listing, read or carried, holds it);
//   - proposal_votes: unless the proposal's votes were carried, or the
//     proposal is alive and was not read by the run (its steps were
//     carried, so were its votes);
//   - every other table (projects, steps, events, event_projects,
//     districts, which every run reads in full): always.
//
// A full run carries nothing, so every unseen row is marked.
func deletionSQL() []deletion {
	head := func(t string) string {
		return fmt.Sprintf("UPDATE raw.%s SET deleted_run = $1 WHERE source = $2 AND deleted_run IS NULL AND last_seen_run < $3", t)
	}
	scoped := func(t, col, kind string) deletion {
		return deletion{t, head(t) + fmt.Sprintf(" AND coalesce(%s, '') NOT IN (SELECT scope_id FROM raw.ingest_carry WHERE source = $2 AND run_id = $1 AND kind = '%s')", col, kind)}
	}
	out := []deletion{
		{Users, head(Users) + fmt.Sprintf(" AND NOT EXISTS (SELECT 1 FROM raw.ingest_carry WHERE source = $2 AND run_id = $1 AND kind = '%s')", CarryUsers)},
		scoped(Contributions, "project_id", CarryContributions),
		scoped(Questions, "questionnaire_id", CarryQuestionnaires),
		scoped(Replies, "questionnaire_id", CarryQuestionnaires),
		scoped(ProposalSteps, "step_id", CarrySteps),
		{Proposals, head(Proposals) + " AND NOT EXISTS (SELECT 1 FROM raw.proposal_steps ps WHERE ps.source = $2 AND ps.proposal_id = raw.proposals.id AND ps.deleted_run IS NULL)"},
		{ProposalVotes, scoped(ProposalVotes, "proposal_id", CarryVotes).sql +
			" AND proposal_id NOT IN (SELECT id FROM raw.proposals WHERE source = $2 AND deleted_run IS NULL AND last_seen_run < $3)"},
	}
	done := map[string]bool{}
	for _, d := range out {
		done[d.table] = true
	}
	names := EntityTables()
	sort.Strings(names)
	for _, t := range names {
		if !done[t] {
			out = append(out, deletion{t, head(t)})
		}
	}
	return out
}
