package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/capstat/capstat/reports/release"
)

// Published is the release Publish made current, with where its time went.
type Published struct {
	release.Release
	Stats Stats
}

// Stats says where the time of a Publish went. Datasets are written two at
// a time, so Checks, Parquet, CSV and Changes add up the time of both
// workers (their sum may exceed the elapsed time); the other phases follow
// them one after the other.
type Stats struct {
	Checks   time.Duration // one scan per dataset: rows, primary key, fingerprint
	Parquet  time.Duration // COPY … (FORMAT parquet)
	CSV      time.Duration // COPY … (FORMAT csv), spreadsheet-sized datasets only
	Changes  time.Duration // diff against the previous release (skipped when fingerprints match)
	Snapshot time.Duration // capstat.duckdb: a view per dataset as it is written, then release_info and commit
	Metadata time.Duration // wait for the checksums, datapackage, README, manifest
	Verify   time.Duration // file set and sizes, Parquet footers, snapshot views
	Total    time.Duration
	Bytes    int64 // size of the release
	Rows     int64 // rows over all datasets
}

// Publish writes a release of every catalogue dataset read from the working
// database, verifies it and makes it current (DIR/latest). On any error the
// half-written release is removed and DIR/latest and the previous releases
// are left untouched.
func Publish(ctx context.Context, working *sql.DB, opts Options) (*Published, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if err := checkForbiddenColumns(o.Catalog); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	releasesDir := filepath.Join(o.OutDir, release.ReleasesDir)
	if err := os.MkdirAll(releasesDir, 0o755); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	unlock, err := lockOutDir(o.OutDir)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	defer unlock()
	if err := release.RemoveStaleTemps(releasesDir); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	prev, err := release.Current(o.OutDir)
	switch {
	case errors.Is(err, release.ErrNoRelease):
		prev = nil
	case err != nil:
		// A broken DIR/latest (release deleted by hand, bad manifest) must
		// not block publishing forever: diff against nothing and say so.
		o.Logger.WarnContext(ctx, "publish: previous release unreadable, changes will count every row as added", "err", err)
		prev = nil
	}

	now := o.Now().UTC().Truncate(time.Second)
	id := release.NewID(now, releasesDir)
	tmp := filepath.Join(releasesDir, release.TmpPrefix+id)
	start := time.Now()
	o.Logger.InfoContext(ctx, "publish: writing release", "release", id, "dir", tmp)

	rel, err := writeRelease(ctx, working, o, id, now, tmp, prev)
	if err == nil && o.beforeSwitch != nil {
		err = o.beforeSwitch(tmp)
	}
	if err != nil {
		if rmErr := os.RemoveAll(tmp); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove failed release %s: %w", tmp, rmErr))
		}
		return nil, fmt.Errorf("publish release %s: %w", id, err)
	}

	final := filepath.Join(releasesDir, id)
	if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("publish release %s: %w", id, err)
	}
	if err := release.SyncDir(releasesDir); err != nil {
		return nil, fmt.Errorf("publish release %s: %w", id, err)
	}
	rel.Dir, err = filepath.Abs(final)
	if err != nil {
		return nil, fmt.Errorf("publish release %s: %w", id, err)
	}
	commitCatalogue := func() error { return nil }
	if o.DCAT != nil {
		// Written before the switch, moved into place after it: the
		// catalogue only ever names the current release.
		if commitCatalogue, err = writeCatalogue(ctx, o.OutDir, &rel.Release, o); err != nil {
			return nil, fmt.Errorf("publish release %s: %w", id, err)
		}
	}
	if err := release.SwitchLatest(o.OutDir, id); err != nil {
		return nil, fmt.Errorf("publish release %s: %w", id, err)
	}
	if err := commitCatalogue(); err != nil {
		return nil, fmt.Errorf("publish release %s: %w", id, err)
	}
	rel.Stats.Total = time.Since(start)
	deleted, err := release.ApplyRetention(releasesDir, id, o.Retention)
	if err != nil {
		// The release is published; report the retention problem.
		o.Logger.WarnContext(ctx, "publish: retention failed", "err", err)
	}
	o.Logger.InfoContext(ctx, "publish: release is current", "release", id,
		"files", len(rel.Manifest.Files), "deleted_releases", deleted, "elapsed", time.Since(start))
	return rel, nil
}
