package dashboards

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestEChartsBundlePinned checks that the committed ECharts bundle is the
// one fetch.sh pins (its want_sha256); fetch.sh --check, run by make test,
// checks that this pin is what package-lock.json installs.
func TestEChartsBundlePinned(t *testing.T) {
	script, err := os.ReadFile("assets/fetch.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^want_sha256=([0-9a-f]{64})$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("assets/fetch.sh: no want_sha256=<64 hex> line")
	}
	js, err := fs.ReadFile(assetsFS, "assets/vendor/echarts.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(js)); got != string(m[1]) {
		t.Errorf("embedded echarts.min.js has sha256 %s, fetch.sh pins %s: run sh dashboards/assets/fetch.sh", got, m[1])
	}
}

// renderFixture builds the small fixture release and renders its site.
func renderFixture(tb testing.TB, maxAge time.Duration) (*fixtureRelease, *Site) {
	tb.Helper()
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
