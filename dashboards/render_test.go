package dashboards

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// requireECharts skips a test when the ECharts bundle has not been fetched
// (sh dashboards/assets/fetch.sh), except in CI where it must be there.
func requireECharts(tb testing.TB) {
	tb.Helper()
	if _, err := fs.Stat(assetsFS, "assets/vendor/echarts.min.js"); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("echarts.min.js is not embedded: run sh dashboards/assets/fetch.sh before go test")
		}
		tb.Skip("echarts.min.js is not embedded: run sh dashboards/assets/fetch.sh")
	}
}

// renderFixture builds the small fixture release and renders its site.
func renderFixture(tb testing.TB, maxAge time.Duration) (*fixtureRelease, *Site) {
	tb.Helper()
	requireECharts(tb)
	dir := tb.TempDir()
	fx := writeFixtureRelease(tb, dir, smallFixture)
	site, err := Render(context.Background(), Options{
		ReleaseDir: fx.Latest,
		SiteDir:    filepath.Join(dir, "site"),
		MaxAge:     maxAge,
		Now:        func() time.Time { return fixtureCreated.Add(36 * time.Hour) },
		Queries:    []QueryLink{{Name: "participation_vs_population", Title: "Participation rapportée à la population"}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return fx, site
}

func TestRenderSmoke(t *testing.T) {
	_, site := renderFixture(t, 0)
	for _, p := range []string{"index.html", "about.html", "feed.xml", "assets/echarts.min.js", "assets/site.js", "assets/site.css"} {
		if _, err := os.Stat(filepath.Join(site.Dir, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	t.Logf("pages=%d charts=%d feeds=%d files=%d bytes=%d", len(site.Pages), len(site.Charts), len(site.Feeds), site.Files, site.Bytes)
}
