package dashboards

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// largeFixture is a national-scale release: 100 collectivities × 3
// editions (300 project pages), 300 proposals per project (90 000), about
// 70 days of activity per project.
var largeFixture = fixtureSize{Collectivities: 100, Editions: 3, ProposalsPerProject: 300}

// BenchmarkRenderLarge measures site generation at a large size (target:
// under 10 s) and reports the page weight of the home page including the
// chart library (target: under 1.5 MB).
//
//	go test ./dashboards -run '^$' -bench RenderLarge -benchtime 3x
func BenchmarkRenderLarge(b *testing.B) {
	dir := b.TempDir()
	fx := writeFixtureRelease(b, dir, largeFixture)
	siteDir := filepath.Join(dir, "site")
	var site *Site
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		var err error
		site, err = Render(context.Background(), Options{ReleaseDir: fx.Latest, SiteDir: siteDir,
			Now: func() time.Time { return fixtureCreated }})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// The build box is shared: CPU time per render says more than wall time.
	b.ReportMetric((cpuTime(b)-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	home := int64(0)
	for _, p := range []string{"index.html", "index.charts.js", "assets/echarts.min.js", "assets/site.js", "assets/site.css", "assets/favicon.svg"} {
		st, err := os.Stat(filepath.Join(site.Dir, p))
		if err != nil {
			b.Fatal(err)
		}
		home += st.Size()
	}
	b.ReportMetric(float64(home), "home-bytes")
	b.ReportMetric(float64(site.Bytes), "site-bytes")
	b.ReportMetric(float64(len(site.Pages)), "pages")
	b.ReportMetric(float64(len(site.Charts)), "charts")
}

func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
