package dashboards

import (
	"os"
	"testing"
)

// TestWriteFixtureSite keeps a rendered fixture site for manual inspection
// when CAPSTAT_KEEP_SITE names a directory (it is skipped otherwise).
func TestWriteFixtureSite(t *testing.T) {
	out := os.Getenv("CAPSTAT_KEEP_SITE")
	if out == "" {
		t.Skip("set CAPSTAT_KEEP_SITE=<dir> to keep a rendered fixture site")
	}
	_, site := renderFixture(t, 0)
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(out, os.DirFS(site.Dir)); err != nil {
		t.Fatal(err)
	}
}
