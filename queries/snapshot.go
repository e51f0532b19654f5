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

	"github.com/capstat/capstat/internal/duckdbx"
)

// A snapshot is one opened release: its DuckDB connections, confined to
// the release's Parquet files, or its datasets copied into private tables
// (LoadTables); the engine swaps snapshots when the release changes.

// snapshotCatalog is the name under which the snapshot is attached.
const snapshotCatalog = "snapshot"

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

// retire marks s as replaced; it reports whether s can be closed now.
// Called with Engine.mu held.
func (s *snapshot) retire() bool {
	s.retired = true
	return s.refs == 0
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
