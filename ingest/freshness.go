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
	// Unfinished is the id of a run that stopped (killed, failed) or is
	// still going after committing pages: the source's raw tables are then
	// partly refreshed and must not be published until that run completes
	// (the next ingest of the source resumes it). 0 = none.
	Unfinished int64
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
max(started_at) FILTER (status = 'complete' AND mode = 'full'),
coalesce(max(run_id) FILTER (status <> 'complete' AND EXISTS (SELECT 1 FROM raw.checkpoints c WHERE c.source = r.source AND c.run_id = r.run_id)), 0)
FROM raw.ingest_runs r GROUP BY source ORDER BY source`)
	if err != nil {
		return nil, fmt.Errorf("ingest: freshness: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var f Freshness
		var last, full sql.NullTime
		if err := rs.Scan(&f.Source, &last, &full, &f.Unfinished); err != nil {
			return nil, fmt.Errorf("ingest: freshness: %w", err)
		}
		f.LastRefresh, f.LastFull = last.Time, full.Time
		out[f.Source] = f
	}
	return out, rs.Err()
}
