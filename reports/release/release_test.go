package release

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"20261129T171502Z", "20261129T171502Z-2", "20261129T171502Z-10", "x", "20261129T171502Z-1", "20261129T171502Z-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, n, ok := ParseID(s)
		if !ok {
			return
		}
		// A valid id is a canonical UTC timestamp with an optional suffix ≥ 2.
		want := ts.Format(idLayout)
		if n > 1 {
			want += "-" + strconv.Itoa(n)
		}
		if want != s {
			t.Errorf("ParseID(%q) = %v, %d", s, ts, n)
		}
		if n < 1 || ts.Location() != time.UTC {
			t.Errorf("ParseID(%q): suffix %d, zone %v", s, n, ts.Location())
		}
	})
}

// TestCurrentNone: an empty directory has no release, said with
// ErrNoRelease, never as a nil release without an error; a dangling latest
// is an error of its own.
func TestCurrentNone(t *testing.T) {
	dir := t.TempDir()
	if r, err := Current(dir); r != nil || !errors.Is(err, ErrNoRelease) {
		t.Errorf("Current(empty) = %v, %v; want ErrNoRelease", r, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ReleasesDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := SwitchLatest(dir, "20261129T171502Z"); err != nil {
		t.Fatal(err)
	}
	if r, err := Current(dir); r != nil || err == nil || errors.Is(err, ErrNoRelease) {
		t.Errorf("Current(dangling latest) = %v, %v; want an error other than ErrNoRelease", r, err)
	}
	if got := LatestSnapshot(dir); got != filepath.Join(dir, "latest", "capstat.duckdb") {
		t.Errorf("LatestSnapshot = %s", got)
	}
}
