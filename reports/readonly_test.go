package reports

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
)

// The working database may be opened read-only by the caller (publish runs
// after transform, and must not need to write to it).
func TestPublishFromReadOnlyWorkingDB(t *testing.T) {
	ctx := context.Background()
	cat := loadCatalog(t)
	path := filepath.Join(t.TempDir(), "working.duckdb")
	rw, err := duckdbx.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := fillWorkingDB(ctx, rw, cat, fixtureRows); err != nil {
		t.Fatal(err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := duckdbx.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	out := t.TempDir()
	first := publish(t, ro, testOptions(t, out))
	second := publish(t, ro, testOptions(t, out))
	if !second.Changes.Zero() || second.Changes.PreviousReleaseID != first.ID {
		t.Errorf("changes = %+v", second.Changes)
	}
}

// Two publishes of one working database into two directories at once (the
// attached snapshot names must not collide).
func TestConcurrentPublishes(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	db.SetMaxOpenConns(4)
	dirs := []string{t.TempDir(), t.TempDir()}
	errs := make(chan error, len(dirs))
	for _, dir := range dirs {
		go func() {
			_, err := Publish(context.Background(), db, testOptions(t, dir))
			errs <- err
		}()
	}
	for range dirs {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, dir := range dirs {
		if cur, err := release.Current(dir); err != nil || cur == nil {
			t.Errorf("%s: %v, %v", dir, cur, err)
		}
	}
}
