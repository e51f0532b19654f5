package dashboards

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSmallRates draws a bar chart of small rates (participation of
// 0,0025 % of inhabitants, the demo's order of magnitude) as the site
// does and checks in Chromium that the reference line is drawn where its
// value is (ECharts rounds mark lines to 2 decimals by default, which put
// it at 0) and that no two adjacent axis labels read the same.
func TestBrowserSmallRates(t *testing.T) {
	bctx := browser(t)
	dir := t.TempDir()
	for _, name := range []string{"echarts.min.js", "site.js"} {
		var src string
		if name == "echarts.min.js" {
			src = "assets/vendor/echarts.min.js"
		} else {
			src = "assets/static/site.js"
		}
		b, err := fs.ReadFile(assetsFS, src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rates := []float64{0.00005547, 0.00004152, 0.00002932, 0.00002537, 0.00001911, 0.0000102}
	var items []barItem
	for i, r := range rates {
		items = append(items, barItem{Label: fmt.Sprintf("Collectivité %d", i+1), Value: r, Highlight: i == 2})
	}
	const bench = 0.00002537
	opt, err := metricBars(items, "%", 100, bench, true, "Médiane des départements comparés")
	if err != nil {
		t.Fatal(err)
	}
	js := "window.CAPSTAT_CHARTS = {}; window.CAPSTAT_CHARTS['t'] = " + string(opt) + ";\n"
	html := `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>t</title><link rel="stylesheet" href="t.css"></head><body>
<div data-chart="t"></div>
<script src="echarts.min.js"></script><script src="t.charts.js"></script><script src="site.js"></script></body></html>`
	os.WriteFile(filepath.Join(dir, "t.charts.js"), []byte(js), 0o644)
	os.WriteFile(filepath.Join(dir, "index.html"), []byte(html), 0o644)
	os.WriteFile(filepath.Join(dir, "t.css"), []byte("[data-chart] { width: 800px; height: 400px; }"), 0o644)
	srv := httptest.NewServer(withCSP(http.FileServer(http.Dir(dir))))
	defer srv.Close()

	ctx, _ := openPage(t, bctx, srv.URL+"/index.html")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.querySelector('[data-chart-ready]')`)); err != nil {
		t.Fatalf("chart not drawn: %v", err)
	}
	type result struct {
		Want   float64   `json:"want"`   // pixel y of the benchmark value
		Zero   float64   `json:"zero"`   // pixel y of 0
		Lines  []float64 `json:"lines"`  // y of the horizontal dashed lines drawn
		Labels []string  `json:"labels"` // value-axis labels, bottom to top
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[result](`(function () {
  var c = echarts.getInstanceByDom(document.querySelector('[data-chart="t"]'));
  var v = c.getOption().series[0].markLine.data[0].yAxis;
  var lines = [];
  c.getZr().storage.getDisplayList().forEach(function (el) {
    var s = el.shape;
    if (s && s.x1 !== undefined && s.y1 === s.y2 && s.x1 !== s.x2 && el.style && el.style.lineDash) { lines.push(s.y1); }
  });
  var labels = c.getModel().getComponent('yAxis', 0).axis.getViewLabels().map(function (l) { return l.formattedLabel; });
  return {want: c.convertToPixel({yAxisIndex: 0}, v), zero: c.convertToPixel({yAxisIndex: 0}, 0), lines: lines, labels: labels};
})()`))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, y := range res.Lines {
		found = found || (y-res.Want > -1.5 && y-res.Want < 1.5)
	}
	if !found || res.Zero-res.Want < 20 {
		t.Errorf("no dashed line drawn at the reference value (y=%.1f, 0 is at y=%.1f); dashed lines at %v", res.Want, res.Zero, res.Lines)
	}
	for i := 1; i < len(res.Labels); i++ {
		if res.Labels[i] == res.Labels[i-1] {
			t.Errorf("adjacent axis labels read the same: %q", res.Labels)
			break
		}
	}
	if len(res.Labels) < 3 {
		t.Errorf("axis labels %q", res.Labels)
	}
}
