package reports

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/capstat/capstat/internal/duckdbx"
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
