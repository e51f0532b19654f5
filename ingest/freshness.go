package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Freshness tells how fresh a source's raw tables are.
type Freshness struct {
	Source string
	// LastRefresh is when the last complete run of the source (either
	// mode) finished; zero if none.
	LastRefresh time.Time
	// LastFull is when the last complete full sweep started: what changed
	// since then in phases already closed at that instant, without moving
	// any count, is only seen by the next full sweep (the staleness bound,
	// package doc). Zero if none.
	LastFull time.Time
}

// ReadFreshness reads the freshness of every source recorded in db's raw
// tables (an empty map before the first ingest).
func ReadFreshness(ctx context.Context, db *sql.DB) (map[string]Freshness, error) {
	out := map[string]Freshness{}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = 'ingest_runs' AND column_name = 'mode'`).Scan(&n); err != nil {
		return nil, fmt.Errorf("ingest: freshness: %w", err)
	}
	if n == 0 {
		return out, nil
	}
	rs, err := db.QueryContext(ctx, `SELECT source,
max(finished_at) FILTER (status = 'complete'),
max(started_at) FILTER (status = 'complete' AND mode = 'full')
FROM raw.ingest_runs GROUP BY source ORDER BY source`)
	if err != nil {
		return nil, fmt.Errorf("ingest: freshness: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var f Freshness
		var last, full sql.NullTime
		if err := rs.Scan(&f.Source, &last, &full); err != nil {
			return nil, fmt.Errorf("ingest: freshness: %w", err)
		}
		f.LastRefresh, f.LastFull = last.Time, full.Time
		out[f.Source] = f
	}
	return out, rs.Err()
}
