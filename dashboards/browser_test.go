package dashboards

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// siteCSP is the policy the daemon sets; the site must work under it.
const siteCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"

func withCSP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", siteCSP)
		h.ServeHTTP(w, r)
	})
}

// browser starts headless Chromium, or skips when it is not installed
// (except with CI=true, where a missing browser fails the test).
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are skipped in -short mode")
	}
	exe, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not found (apt-get install -y --no-install-recommends chromium): %v", err)
		}
		t.Skipf("chromium not found, skipping browser tests: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int]("1")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// pageProbe records what a page did while it loaded.
type pageProbe struct {
	mu       sync.Mutex
	problems []string
	requests []string
	dialogs  []string
}

func (p *pageProbe) add(list *[]string, s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*list = append(*list, s)
}

func (p *pageProbe) snapshot() (problems, requests, dialogs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...), append([]string(nil), p.requests...), append([]string(nil), p.dialogs...)
}

// openPage opens u in a new tab and records console errors, exceptions,
// browser-log errors (CSP violations) and every request. Dialogs (an
// alert() run by injected markup) are recorded and dismissed.
func openPage(t *testing.T, browserCtx context.Context, u string) (context.Context, *pageProbe) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	probe := &pageProbe{}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			probe.add(&probe.problems, "exception: "+ev.ExceptionDetails.Text+" "+describe(ev.ExceptionDetails))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				probe.add(&probe.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " ")))
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				probe.add(&probe.problems, fmt.Sprintf("log %s/%s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			probe.add(&probe.requests, ev.Request.URL)
		case *network.EventLoadingFailed:
			probe.add(&probe.problems, fmt.Sprintf("request failed: %s %s", ev.ErrorText, ev.BlockedReason))
		case *cdppage.EventJavascriptDialogOpening:
			probe.add(&probe.dialogs, string(ev.Type)+": "+ev.Message)
			go chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false}) //nolint:errcheck
		}
	}); err != nil {
		t.Fatalf("listen %s: %v", u, err)
	}
	// Generous deadlines: the build box is shared and can be very loaded.
	tctx, tcancel := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(tcancel)
	if err := chromedp.Do(tctx, chromedp.Navigate(u), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	return tctx, probe
}

func describe(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return ""
}

// checkClean fails when the page logged an error, ran a dialog or asked
// anything from a host other than the test server.
func checkClean(t *testing.T, name string, probe *pageProbe, host string) {
	t.Helper()
	problems, requests, dialogs := probe.snapshot()
	for _, p := range problems {
		t.Errorf("%s: %s", name, p)
	}
	for _, d := range dialogs {
		t.Errorf("%s: a dialog opened (injected script ran): %s", name, d)
	}
	if len(requests) == 0 {
		t.Errorf("%s: no request recorded (is the network listener working?)", name)
	}
	for _, r := range requests {
		u, err := url.Parse(r)
		if err != nil {
			t.Errorf("%s: bad request URL %q", name, r)
			continue
		}
		if u.Scheme == "data" || (host == "" && u.Scheme == "file") {
			continue
		}
		if u.Host != host {
			t.Errorf("%s: request to another host: %s", name, r)
		}
	}
}

// chartState is what a [data-chart] element holds once drawn.
type chartState struct {
	ID          string `json:"id"`
	Instance    bool   `json:"instance"`
	Series      int    `json:"series"`
	Canvases    int    `json:"canvases"`
	InkPixels   int    `json:"ink"`
	RenderMode  string `json:"renderMode"`
	HTMLTooltip bool   `json:"htmlTooltip"`
	// ValueLabel is 1234567.5 as the chart's first value axis labels it
	// ("" without a value axis), Tooltip as its tooltip shows it.
	ValueLabel string `json:"valueLabel"`
	Tooltip    string `json:"tooltip"`
}

const chartsProbeJS = `Array.from(document.querySelectorAll('[data-chart]')).map(function (el) {
  var inst = window.echarts && echarts.getInstanceByDom(el);
  var canvas = el.querySelector('canvas');
  var ink = 0;
  if (canvas) {
    var d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (var i = 3; i < d.length; i += 16) { if (d[i] > 0) { ink++; } }
  }
  var opt = inst ? inst.getOption() : null;
  return {
    id: el.getAttribute('data-chart'),
    instance: !!inst,
    series: opt ? opt.series.length : 0,
    canvases: el.querySelectorAll('canvas').length,
    ink: ink,
    renderMode: opt && opt.tooltip && opt.tooltip[0] ? String(opt.tooltip[0].renderMode) : '',
    htmlTooltip: el.querySelectorAll('div[style*="pointer-events"]').length > 0 && !!el.querySelector('img'),
    valueLabel: (function () {
      var axes = opt ? [].concat(opt.yAxis || [], opt.xAxis || []) : [];
      for (var i = 0; i < axes.length; i++) {
        var f = axes[i].type === 'value' && axes[i].axisLabel && axes[i].axisLabel.formatter;
        if (typeof f === 'function') { return String(f(1234567.5)); }
        if (axes[i].type === 'value') { return 'no formatter: ' + String(f); }
      }
      return '';
    })(),
    tooltip: opt && opt.tooltip && opt.tooltip[0] && typeof opt.tooltip[0].valueFormatter === 'function' ? String(opt.tooltip[0].valueFormatter(1234567.5)) : ''
  };
})`

func checkCharts(t *testing.T, ctx context.Context, name string, want int) []chartState {
	t.Helper()
	// site.js marks each chart once drawn; wait for all of them.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`document.querySelectorAll('[data-chart]').length === document.querySelectorAll('[data-chart-ready]').length`,
		chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatalf("%s: charts not drawn: %v", name, err)
	}
	states, err := chromedp.Run(ctx, chromedp.Evaluate[[]chartState](chartsProbeJS))
	if err != nil {
		t.Fatalf("%s: probe charts: %v", name, err)
	}
	if len(states) != want {
		t.Errorf("%s: %d charts, want %d", name, len(states), want)
	}
	for _, s := range states {
		if !s.Instance || s.Series == 0 || s.Canvases == 0 || s.InkPixels < 50 {
			t.Errorf("%s: chart %s not drawn: %+v", name, s.ID, s)
		}
		if s.RenderMode != "richText" {
			t.Errorf("%s: chart %s tooltip renderMode %q, want richText", name, s.ID, s.RenderMode)
		}
		// French numbers: narrow no-break space between thousands, decimal comma.
		const french = "1\u202f234\u202f567,5"
		if s.ValueLabel != "" && s.ValueLabel != french {
			t.Errorf("%s: chart %s value axis labels 1234567.5 as %q, want %q", name, s.ID, s.ValueLabel, french)
		}
		if s.Tooltip != french {
			t.Errorf("%s: chart %s tooltip shows 1234567.5 as %q, want %q", name, s.ID, s.Tooltip, french)
		}
	}
	return states
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	// The build output (bin/, git-ignored) unless CAPSTAT_ARTIFACTS says.
	dir := os.Getenv("CAPSTAT_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "bin", "screenshots")
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100 gives PNG (lower is JPEG)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", p, len(png))
}

func TestBrowserSite(t *testing.T) {
	bctx := browser(t)
	fx, site := renderFixture(t, 0)
	srv := httptest.NewServer(withCSP(http.FileServer(http.Dir(site.Dir))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	// Every page (embeds included) loads cleanly and draws all its charts.
	chartsOf := map[string]int{}
	for _, id := range site.Charts {
		chartsOf["embed/"+id+".html"] = 1
	}
	for _, p := range site.Pages {
		js := filepath.Join(site.Dir, strings.TrimSuffix(p, ".html")+".charts.js")
		if data, err := os.ReadFile(js); err == nil {
			chartsOf[p] = strings.Count(string(data), "window.CAPSTAT_CHARTS[")
		}
	}
	// Every main page; embeds are one template, so a sample of them (the
	// home page's and one of each project chart kind) is enough.
	kinds := map[string]bool{}
	for _, p := range site.Pages {
		if strings.HasPrefix(p, "embed/") {
			id := strings.TrimSuffix(strings.TrimPrefix(p, "embed/"), ".html")
			kind := id[strings.LastIndex(id, "_")+1:]
			switch {
			case strings.HasPrefix(id, "home_"):
				kind = id
			case strings.Contains(id, "_rank_"):
				kind = id[strings.Index(id, "_rank_"):]
			}
			if kinds[kind] {
				continue
			}
			kinds[kind] = true
		}
		t.Run(p, func(t *testing.T) {
			ctx, probe := openPage(t, bctx, srv.URL+"/"+p)
			checkCharts(t, ctx, p, chartsOf[p])
			checkClean(t, p, probe, host)
		})
	}

	t.Run("home table matches the release", func(t *testing.T) {
		ctx, _ := openPage(t, bctx, srv.URL+"/index.html")
		rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll('#synthese + .table-wrap tbody tr')).map(function (tr) {
			return Array.from(tr.children).map(function (c) { return c.textContent; }); })`))
		if err != nil {
			t.Fatal(err)
		}
		latest := latestFixtureEditions(fx.Editions)
		kinds := map[string]bool{}
		for _, e := range latest {
			kinds[e.Kind] = true
		}
		if len(rows) != len(latest)+len(kinds) {
			t.Fatalf("%d rows, want %d collectivities + the median of each of the %d kinds", len(rows), len(latest), len(kinds))
		}
		for _, e := range latest {
			kind := map[string]string{"departement": "département", "region": "région"}[e.Kind]
			want := []string{e.Name, kind, "Budget participatif " + e.Edition, frInt(e.Population), frPctAuto(e.ParticipationRate), frRate(e.ProposalsPer10k),
				frRate(e.VotesPer1k), frPct(e.WinnerRate, 1), frDec(e.EurPerInhabitant, 2) + nnbsp + "€", "avec les " + kind + "s"}
			found := false
			for _, r := range rows {
				if r[0] == e.Name {
					found = true
					if strings.Join(r, "|") != strings.Join(want, "|") {
						t.Errorf("row %s:\n got %q\nwant %q", e.Name, r, want)
					}
				}
			}
			if !found {
				t.Errorf("no row for %s", e.Name)
			}
		}
	})

	t.Run("hostile titles render as text", func(t *testing.T) {
		var landes *fixtureEdition
		for i := range fx.Editions {
			if fx.Editions[i].Code == "40" && strings.Contains(fx.Editions[i].Title, hostileScript) {
				landes = &fx.Editions[i]
			}
		}
		if landes == nil {
			t.Fatal("fixture has no hostile project title")
		}
		pagePath := "projets/" + slugify(landes.Source) + "-" + shortHash(landes.Source, landes.ProjectID) + "/index.html"
		ctx, probe := openPage(t, bctx, srv.URL+"/"+pagePath)
		checkCharts(t, ctx, pagePath, chartsOf[pagePath])
		type dom struct {
			H1, Title, Body string
			Imgs, Scripts   int
		}
		d, err := chromedp.Run(ctx, chromedp.Evaluate[dom](`({H1: document.querySelector('h1').textContent, Title: document.title,
			Body: document.body.innerText, Imgs: document.querySelectorAll('img').length,
			Scripts: document.querySelectorAll('script').length})`))
		if err != nil {
			t.Fatal(err)
		}
		if d.H1 != landes.Title {
			t.Errorf("h1 = %q, want the title as text %q", d.H1, landes.Title)
		}
		if !strings.Contains(d.Title, hostileScript) {
			t.Errorf("document.title %q lacks the literal title", d.Title)
		}
		for _, s := range []string{hostileImg, hostileScript, "🌻", "Pyrénées"[:0] + "« Les Capucines »"} {
			if !strings.Contains(d.Body, s) {
				t.Errorf("page text lacks %q", s)
			}
		}
		if d.Imgs != 0 || d.Scripts != 3 {
			t.Errorf("hostile markup became elements: %d img, %d script (want 0 and 3)", d.Imgs, d.Scripts)
		}
		// Show the tooltip of every map point, hostile ones included.
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(function () {
			var el = document.querySelector('[data-chart$="_map"]');
			var chart = echarts.getInstanceByDom(el);
			var n = 0;
			chart.getOption().series.forEach(function (s, si) {
				s.data.forEach(function (d, di) { chart.dispatchAction({type: 'showTip', seriesIndex: si, dataIndex: di}); n++; });
			});
			return n;
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if shown == 0 {
			t.Error("no map point to show")
		}
		imgs, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('img').length`))
		if err != nil {
			t.Fatal(err)
		}
		if imgs != 0 {
			t.Errorf("a tooltip created %d img elements", imgs)
		}
		checkClean(t, "hostile page", probe, host)
	})

	t.Run("works opened as files", func(t *testing.T) {
		project := "projets/" + slugify(fx.Editions[0].Source) + "-" + shortHash(fx.Editions[0].Source, fx.Editions[0].ProjectID) + "/index.html"
		for _, p := range []string{"index.html", "about.html", "collectivites/40/index.html", project, "embed/home_votes_per_1k_departement.html"} {
			ctx, probe := openPage(t, bctx, "file://"+filepath.ToSlash(filepath.Join(site.Dir, p)))
			checkCharts(t, ctx, p, chartsOf[p])
			checkClean(t, "file://"+p, probe, "")
			// Every link a reader can see leads to a file that exists (the
			// release beside the site for downloads); what needs the
			// daemon (the query API) is hidden.
			if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState === 'complete'`)); err != nil {
				t.Fatal(err)
			}
			hrefs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('a[href]'))
				.filter(function (a) { return a.offsetParent !== null; })
				.map(function (a) { return a.href; })`))
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hrefs {
				u, err := url.Parse(h)
				if err != nil || u.Scheme != "file" {
					if !strings.HasPrefix(h, "https://") { // platform pages, licences
						t.Errorf("%s: visible link %q leaves the files", p, h)
					}
					continue
				}
				if _, err := os.Stat(u.Path); err != nil {
					t.Errorf("%s: visible link %q leads nowhere: %v", p, h, err)
				}
			}
		}
	})

	t.Run("screenshots", func(t *testing.T) {
		for name, p := range map[string]string{
			"home.png":         "index.html",
			"collectivity.png": "collectivites/40/index.html",
			"project.png":      "projets/" + slugify(fx.Editions[0].Source) + "-" + shortHash(fx.Editions[0].Source, fx.Editions[0].ProjectID) + "/index.html",
		} {
			ctx, _ := openPage(t, bctx, srv.URL+"/"+p)
			checkCharts(t, ctx, p, chartsOf[p])
			screenshot(t, ctx, name)
		}
	})
}

// TestBrowserProbeCatchesViolations checks the probe itself: a page with an
// inline script, an inline style, an alert and a request to another host
// must be reported, or the clean results above would prove nothing.
func TestBrowserProbeCatchesViolations(t *testing.T) {
	bctx := browser(t)
	srv := httptest.NewServer(withCSP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html lang="fr"><head><title>x</title>
<script src="/missing.js"></script></head><body><p style="color:red">x</p>
<script>alert(1)</script><img src="http://example.invalid/x.png" alt=""></body></html>`)
	})))
	defer srv.Close()
	ctx, probe := openPage(t, bctx, srv.URL+"/")
	_ = ctx
	// Give the browser a moment to report (no timing assertion: we poll).
	var problems, requests []string
	for i := 0; i < 300; i++ { // up to 30 s on a loaded machine
		problems, requests, _ = probe.snapshot()
		if len(problems) >= 2 && strings.Contains(strings.Join(requests, " "), "example.invalid") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	joined := strings.Join(problems, "\n")
	if !strings.Contains(joined, "Content Security Policy") {
		t.Errorf("CSP violations not reported; got:\n%s", joined)
	}
	external := false
	for _, r := range requests {
		if strings.Contains(r, "example.invalid") {
			external = true
		}
	}
	if !external {
		t.Errorf("request to another host not recorded; requests: %v", requests)
	}
	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}

// TestBrowserRelease renders the release named by CAPSTAT_RELEASE_DIR (for
// example public/latest after `make demo`) and checks every main page and
// one embed per chart kind in the browser: no console error, no request to
// another host, every chart drawn.
func TestBrowserRelease(t *testing.T) {
	relDir := os.Getenv("CAPSTAT_RELEASE_DIR")
	if relDir == "" {
		t.Skip("set CAPSTAT_RELEASE_DIR to check a real release in the browser")
	}
	bctx := browser(t)
	site, err := Render(context.Background(), Options{ReleaseDir: relDir, SiteDir: filepath.Join(t.TempDir(), "site")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(withCSP(http.FileServer(http.Dir(site.Dir))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	kinds := map[string]bool{}
	for _, p := range site.Pages {
		if strings.HasPrefix(p, "embed/") {
			id := strings.TrimSuffix(strings.TrimPrefix(p, "embed/"), ".html")
			kind := id[strings.LastIndex(id, "_")+1:]
			if kinds[kind] {
				continue
			}
			kinds[kind] = true
		}
		want := 0
		if data, err := os.ReadFile(filepath.Join(site.Dir, strings.TrimSuffix(p, ".html")+".charts.js")); err == nil {
			want = strings.Count(string(data), "window.CAPSTAT_CHARTS[")
		} else if strings.HasPrefix(p, "embed/") {
			want = 1
		}
		t.Run(p, func(t *testing.T) {
			ctx, probe := openPage(t, bctx, srv.URL+"/"+p)
			checkCharts(t, ctx, p, want)
			checkClean(t, p, probe, host)
		})
	}
	if dir := os.Getenv("CAPSTAT_ARTIFACTS"); dir != "" {
		ctx, _ := openPage(t, bctx, srv.URL+"/index.html")
		checkCharts(t, ctx, "index.html", strings.Count(mustRead(t, filepath.Join(site.Dir, "index.charts.js")), "window.CAPSTAT_CHARTS["))
		screenshot(t, ctx, "release-home.png")
		best, bestSize := "", 0
		for _, p := range site.Pages {
			if strings.HasPrefix(p, "projets/") {
				if n := len(mustRead(t, filepath.Join(site.Dir, p))); n > bestSize {
					best, bestSize = p, n
				}
			}
		}
		if best != "" {
			ctx, _ := openPage(t, bctx, srv.URL+"/"+best)
			checkCharts(t, ctx, best, strings.Count(mustRead(t, filepath.Join(site.Dir, strings.TrimSuffix(best, ".html")+".charts.js")), "window.CAPSTAT_CHARTS["))
			screenshot(t, ctx, "release-project.png")
		}
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
