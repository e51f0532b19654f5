package queries

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/capstat/capstat/internal/duckdbx"
)

// Limits bound what one query may use. Zero fields take the defaults.
type Limits struct {
	MaxRows              int           // rows of a JSON or table answer (default 1000)
	MaxExportRows        int           // rows of an ad-hoc CSV answer, refused (413) past it (default 50000)
	Timeout              time.Duration // per query (default 5s)
	ExportTimeout        time.Duration // canned CSV/Parquet exports, which have no row limit (default 2m)
	MemoryLimit          string        // DuckDB memory_limit (default "512MB")
	Threads              int           // DuckDB threads (default 2)
	MaxTempDirectorySize string        // DuckDB max_temp_directory_size (default "1GB")
	MaxSQLBytes          int           // ad-hoc SQL text (default 16384)
	MaxConcurrent        int           // queries running at once per engine; more get 429 (default 4)
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		MaxRows: 1000, MaxExportRows: 50000, Timeout: 5 * time.Second, ExportTimeout: 2 * time.Minute,
		MemoryLimit: "512MB", Threads: 2, MaxTempDirectorySize: "1GB", MaxSQLBytes: 16 << 10, MaxConcurrent: 4,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxRows <= 0 {
		l.MaxRows = d.MaxRows
	}
	if l.MaxExportRows <= 0 {
		l.MaxExportRows = d.MaxExportRows
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.ExportTimeout <= 0 {
		l.ExportTimeout = d.ExportTimeout
	}
	if l.MemoryLimit == "" {
		l.MemoryLimit = d.MemoryLimit
	}
	if l.Threads <= 0 {
		l.Threads = d.Threads
	}
	if l.MaxTempDirectorySize == "" {
		l.MaxTempDirectorySize = d.MaxTempDirectorySize
	}
	if l.MaxSQLBytes <= 0 {
		l.MaxSQLBytes = d.MaxSQLBytes
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = d.MaxConcurrent
	}
	return l
}

// Format is an output format.
type Format string

// Output formats.
const (
	FormatTable   Format = "table"
	FormatCSV     Format = "csv"
	FormatJSON    Format = "json"
	FormatParquet Format = "parquet"
)

// ParseFormat parses a format name; "" means JSON.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FormatJSON, nil
	case FormatTable, FormatCSV, FormatJSON, FormatParquet:
		return f, nil
	}
	return "", errorf(CodeInvalidFormat, "format %q inconnu (table, csv, json ou parquet)", s)
}

// ContentType is the HTTP media type of the format.
func (f Format) ContentType() string {
	switch f {
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatParquet:
		return "application/vnd.apache.parquet"
	case FormatTable:
		return "text/plain; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}

// TimeZone is the session time zone of every query: casts and extractions
// such as created_at::DATE, hour(created_at) or date_trunc('week', …) give
// local calendar values of the platforms, like the metrics datasets. Output
// timestamps are written in UTC (RFC 3339) whatever the zone.
const TimeZone = "Europe/Paris"

// snapshotCatalog is the name under which the snapshot is attached.
const snapshotCatalog = "snapshot"

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

// snapshot is one opened release snapshot, reference-counted so that a
// release switch closes it only when its last query has finished.
type snapshot struct {
	path   string // resolved (symlinks followed)
	access duckdbx.ReleaseAccess
	tmpDir string
	limits Limits
	// source is the database file attached as snapshotCatalog: the
	// release snapshot itself, or with LoadTables a private copy of its
	// datasets as tables under tmpDir.
	source string

	db     *sql.DB        // guarded instance: external access off, configuration locked
	conns  chan *sql.Conn // pinned connections of db (new ones could not be configured once locked)
	tables map[string]bool

	exportOnce sync.Once
	exportDB   *sql.DB // trusted instance for COPY … TO of canned queries (Parquet)
	exportErr  error

	refs    int
	retired bool

	// broken is set when DuckDB reported a fatal or internal error, after
	// which the instance may be invalidated: the engine then reopens the
	// snapshot when the failing query releases it.
	broken    atomic.Bool
	reopening atomic.Bool
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

// retire marks s as replaced; it reports whether s can be closed now.
// Called with Engine.mu held.
func (s *snapshot) retire() bool {
	s.retired = true
	return s.refs == 0
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

func openSnapshot(ctx context.Context, path string, limits Limits, load bool, tmpRoot string) (_ *snapshot, err error) {
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("open snapshot %s: %w", path, err)
	}
	if resolved, err = filepath.Abs(resolved); err != nil {
		return nil, fmt.Errorf("open snapshot %s: %w", path, err)
	}
	if tmpRoot != "" {
		if err := os.MkdirAll(tmpRoot, 0o700); err != nil {
			return nil, fmt.Errorf("open snapshot %s: temp dir: %w", path, err)
		}
	}
	tmpDir, err := os.MkdirTemp(tmpRoot, "capstat-queries-")
	if err != nil {
		return nil, fmt.Errorf("open snapshot %s: temp dir: %w", path, err)
	}
	s := &snapshot{path: resolved, source: resolved, tmpDir: tmpDir, limits: limits, conns: make(chan *sql.Conn, limits.MaxConcurrent)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	// An in-memory instance that attaches the file: file-backed instances are
	// shared per path inside the process (duckdb-go's instance cache), and
	// this one's configuration gets locked.
	s.db, err = duckdbx.Open(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("open snapshot %s: %w", resolved, err)
	}
	n := limits.MaxConcurrent
	s.db.SetMaxOpenConns(n)
	s.db.SetMaxIdleConns(n)
	s.db.SetConnMaxLifetime(0)
	s.db.SetConnMaxIdleTime(0)
	conns := make([]*sql.Conn, 0, n)
	for range n {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("open snapshot %s: connection: %w", resolved, err)
		}
		conns = append(conns, c)
		s.conns <- c
	}
	c0 := conns[0]
	exec := func(stmts ...string) error {
		if err := duckdbx.Exec(ctx, c0, stmts...); err != nil {
			return fmt.Errorf("open snapshot %s: %w", resolved, err)
		}
		return nil
	}
	if err := exec(
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET allow_community_extensions = false",
		"SET memory_limit = "+duckdbx.Quote(limits.MemoryLimit),
		fmt.Sprintf("SET threads = %d", limits.Threads),
		"SET temp_directory = "+duckdbx.Quote(filepath.Join(tmpDir, "guarded")),
		"SET max_temp_directory_size = "+duckdbx.Quote(limits.MaxTempDirectorySize),
		"SET GLOBAL TimeZone = "+duckdbx.Quote(TimeZone),
		// The views read the release's Parquet files: keep their footers
		// in memory between queries (a release never changes).
		"SET parquet_metadata_cache = true",
	); err != nil {
		return nil, err
	}
	// The views read the release's Parquet files by relative paths
	// (data/<dataset>/…): they resolve against the release directory, and
	// those files are the only ones this instance may read (see below).
	s.access, err = duckdbx.NewReleaseAccess(resolved)
	if err != nil {
		return nil, fmt.Errorf("open snapshot %s: %w", resolved, err)
	}
	if load {
		s.source = filepath.Join(tmpDir, "tables.duckdb")
		if err := loadTables(ctx, c0, s.access, resolved, s.source); err != nil {
			return nil, fmt.Errorf("open snapshot %s: %w", resolved, err)
		}
	}
	if err := exec("ATTACH " + duckdbx.Quote(s.source) + " AS " + snapshotCatalog + " (READ_ONLY)"); err != nil {
		return nil, err
	}
	for _, c := range conns {
		if err := duckdbx.Exec(ctx, c, s.sessionSQL()...); err != nil {
			return nil, fmt.Errorf("open snapshot %s: %w", resolved, err)
		}
	}
	s.tables, err = listTables(ctx, c0, snapshotCatalog)
	if err != nil {
		return nil, fmt.Errorf("open snapshot %s: %w", resolved, err)
	}
	// External access off, except reading the release's Parquet files (by
	// their exact names: allowed_paths, no directory, no glob) when the
	// views read them; last, the configuration is locked so that nothing
	// can change it afterwards.
	confine := []string{"SET enable_external_access = false"}
	if !s.loaded() {
		confine = s.access.ConfineSQL()
	}
	if err := exec(append(confine, "SET lock_configuration = true")...); err != nil {
		return nil, err
	}
	return s, nil
}

// loaded tells whether the snapshot's datasets were copied into tables.
func (s *snapshot) loaded() bool { return s.source != s.path }

// sessionSQL sets up a connection to the snapshot: the snapshot as its
// current database, Paris time, and relative paths resolved in the release.
func (s *snapshot) sessionSQL() []string {
	return []string{"USE " + snapshotCatalog, "SET TimeZone = " + duckdbx.Quote(TimeZone), s.access.SearchPathSQL()}
}

// loadTables copies every table and view of the release snapshot at
// release (its datasets, release_info) into tables of a new DuckDB file at
// dst, on c (not yet confined), then detaches both.
func loadTables(ctx context.Context, c *sql.Conn, access duckdbx.ReleaseAccess, release, dst string) error {
	const from, to = "capstat_release", "capstat_tables"
	if err := duckdbx.Exec(ctx, c,
		access.SearchPathSQL(),
		"ATTACH "+duckdbx.Quote(release)+" AS "+from+" (READ_ONLY)",
		"ATTACH "+duckdbx.Quote(dst)+" AS "+to,
	); err != nil {
		return fmt.Errorf("load tables: %w", err)
	}
	names, err := listTables(ctx, c, from)
	if err == nil {
		for _, name := range sortedKeys(names) {
			q := fmt.Sprintf("CREATE TABLE %s.main.%s AS SELECT * FROM %s.main.%s", to, duckdbx.Ident(name), from, duckdbx.Ident(name))
			if _, err = c.ExecContext(ctx, q); err != nil {
				err = fmt.Errorf("load tables: %s: %w", name, err)
				break
			}
		}
	}
	if err == nil {
		err = copyComments(ctx, c, from, to)
	}
	for _, db := range []string{from, to} {
		if _, dErr := c.ExecContext(ctx, "DETACH "+db); dErr != nil && err == nil {
			err = fmt.Errorf("load tables: detach: %w", dErr)
		}
	}
	return err
}

// copyComments gives the tables of database to the descriptions (COMMENT)
// of the same-named views and tables of database from, and of their columns.
func copyComments(ctx context.Context, c *sql.Conn, from, to string) error {
	rows, err := c.QueryContext(ctx, `
		SELECT table_name, NULL, comment FROM duckdb_tables() WHERE database_name = $1 AND schema_name = 'main' AND comment IS NOT NULL
		UNION ALL SELECT view_name, NULL, comment FROM duckdb_views() WHERE database_name = $1 AND schema_name = 'main' AND NOT internal AND comment IS NOT NULL
		UNION ALL SELECT table_name, column_name, comment FROM duckdb_columns() WHERE database_name = $1 AND schema_name = 'main' AND comment IS NOT NULL`, from)
	if err != nil {
		return fmt.Errorf("load tables: read comments: %w", err)
	}
	var stmts []string
	for rows.Next() {
		var table, comment string
		var column sql.NullString
		if err := rows.Scan(&table, &column, &comment); err != nil {
			rows.Close()
			return fmt.Errorf("load tables: read comments: %w", err)
		}
		target := "TABLE " + to + ".main." + duckdbx.Ident(table)
		if column.Valid {
			target = "COLUMN " + to + ".main." + duckdbx.Ident(table) + "." + duckdbx.Ident(column.String)
		}
		stmts = append(stmts, "COMMENT ON "+target+" IS "+duckdbx.Quote(comment))
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("load tables: read comments: %w", err)
	}
	if err := duckdbx.Exec(ctx, c, stmts...); err != nil {
		return fmt.Errorf("load tables: %w", err)
	}
	return nil
}

// listTables lists the tables and views of the main schema of database.
func listTables(ctx context.Context, c *sql.Conn, database string) (map[string]bool, error) {
	rows, err := c.QueryContext(ctx, `
		SELECT table_name FROM duckdb_tables() WHERE database_name = $1 AND schema_name = 'main'
		UNION SELECT view_name FROM duckdb_views() WHERE database_name = $1 AND schema_name = 'main' AND NOT internal`, database)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		out[strings.ToLower(n)] = true
	}
	return out, rows.Err()
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

func (s *snapshot) close() error {
	var errs []error
	if s.db != nil {
		for {
			select {
			case c := <-s.conns:
				errs = append(errs, c.Close())
				continue
			default:
			}
			break
		}
		errs = append(errs, s.db.Close())
	}
	if s.exportDB != nil {
		errs = append(errs, s.exportDB.Close())
	}
	errs = append(errs, os.RemoveAll(s.tmpDir))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close snapshot %s: %w", s.path, err)
	}
	return nil
}

func (s *snapshot) conn(ctx context.Context) (*sql.Conn, func(), error) {
	select {
	case c := <-s.conns:
		return c, func() { s.conns <- c }, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// export returns the trusted instance used to COPY canned queries to files.
// It only ever runs catalogue SQL with bound parameters.
func (s *snapshot) export(ctx context.Context) (*sql.DB, error) {
	s.exportOnce.Do(func() {
		db, err := duckdbx.Open(ctx, "")
		if err != nil {
			s.exportErr = fmt.Errorf("open export instance: %w", err)
			return
		}
		db.SetMaxOpenConns(s.limits.MaxConcurrent)
		if err := duckdbx.Exec(ctx, db,
			"ATTACH "+duckdbx.Quote(s.source)+" AS "+snapshotCatalog+" (READ_ONLY)",
			"SET memory_limit = "+duckdbx.Quote(s.limits.MemoryLimit),
			fmt.Sprintf("SET threads = %d", s.limits.Threads),
			"SET temp_directory = "+duckdbx.Quote(filepath.Join(s.tmpDir, "export")),
			"SET max_temp_directory_size = "+duckdbx.Quote(s.limits.MaxTempDirectorySize),
		); err != nil {
			db.Close()
			s.exportErr = fmt.Errorf("open export instance: %w", err)
			return
		}
		s.exportDB = db
	})
	return s.exportDB, s.exportErr
}

// copyParquet runs a canned query into a temporary Parquet file and streams
// the file to w.
func (s *snapshot) copyParquet(ctx context.Context, q *Query, args []any, w io.Writer) error {
	db, err := s.export(ctx)
	if err != nil {
		return err
	}
	c, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("parquet export %s: %w", q.Name, err)
	}
	defer c.Close()
	if err := duckdbx.Exec(ctx, c, s.sessionSQL()...); err != nil {
		return fmt.Errorf("parquet export %s: %w", q.Name, err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	f := filepath.Join(s.tmpDir, "export-"+q.Name+"-"+hex.EncodeToString(rnd[:])+".parquet")
	defer os.Remove(f)
	if _, err := c.ExecContext(ctx, "COPY ("+q.SQL+") TO "+duckdbx.Quote(f)+" (FORMAT parquet, COMPRESSION zstd)", args...); err != nil {
		return s.classify(ctx, err)
	}
	fh, err := os.Open(f)
	if err != nil {
		return fmt.Errorf("parquet export %s: %w", q.Name, err)
	}
	defer fh.Close()
	if _, err := io.Copy(w, fh); err != nil {
		return fmt.Errorf("parquet export %s: write: %w", q.Name, err)
	}
	return nil
}

// queryLimited runs a checked ad-hoc statement. A plain query is run as
// its checked syntax tree, rendered back to SQL by DuckDB, under
// "LIMIT limit+1": DuckDB materialises whole results, so this keeps a
// "SELECT * FROM proposal_votes" from building millions of rows to answer
// a thousand. Columns with duplicate names get DuckDB's suffixes (a, a_1).
// If the rendered query does not bind, the original text runs unwrapped.
func (s *snapshot) queryLimited(ctx context.Context, c *sql.Conn, sqlText, tree string, limit int) (*sql.Rows, error) {
	if tree != "" && limit > 0 {
		var inner string
		if err := c.QueryRowContext(ctx, "SELECT json_deserialize_sql($1::JSON)", tree).Scan(&inner); err == nil {
			wrapped := fmt.Sprintf("SELECT * FROM (\n%s\n) AS capstat_result LIMIT %d", inner, limit+1)
			rows, err := c.QueryContext(ctx, wrapped)
			if err == nil {
				return rows, nil
			}
			if ctx.Err() != nil {
				return nil, err
			}
			slog.Debug("queries: limited form of an ad-hoc query failed, running it as written", "err", err)
		}
	}
	return c.QueryContext(ctx, sqlText)
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
