package dashboards

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Paris even on hosts without zoneinfo

	"github.com/capstat/capstat/internal/datasets"
	"golang.org/x/sync/errgroup"
)

//go:embed assets/static assets/vendor/echarts.min.js assets/vendor/echarts.LICENSE.txt assets/vendor/echarts.NOTICE.txt
var assetsFS embed.FS

//go:embed templates/*.html
var templatesFS embed.FS

// QueryLink is a canned query of the query API, linked from the about page
// as api/queries/<Name>?_format=csv (relative to the site root, which the
// daemon serves at /; those links are hidden in a site opened from disk).
type QueryLink struct {
	Name, Title string
}

// Options configures Render.
type Options struct {
	// ReleaseDir is the release to read, usually DIR/latest (a symlink is
	// resolved once, so a release switched during rendering is not mixed).
	ReleaseDir string
	// SiteDir is where the site is written (usually DIR/site); it is
	// replaced atomically.
	SiteDir string
	// MaxAge shows a stale-data warning when the release is older (0: never).
	MaxAge time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives progress logs (default slog.Default()).
	Logger *slog.Logger
	// Queries are canned queries linked from the about page (optional).
	Queries []QueryLink
}

// Site describes a rendered site.
type Site struct {
	Dir       string
	ReleaseID string
	CreatedAt time.Time
	Stale     bool
	Pages     []string // HTML pages, relative to Dir (embeds included)
	Feeds     []string // Atom feeds, relative to Dir
	Charts    []string // chart ids
	Files     int
	Bytes     int64
}

// Render reads the release in opts.ReleaseDir and writes the site to
// opts.SiteDir atomically: the new site is built in a temporary directory
// next to it and swapped in only when complete.
func Render(ctx context.Context, o Options) (*Site, error) {
	if o.ReleaseDir == "" || o.SiteDir == "" {
		return nil, errors.New("dashboards: ReleaseDir and SiteDir are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	start := time.Now()
	echartsJS, err := fs.ReadFile(assetsFS, "assets/vendor/echarts.min.js")
	if err != nil {
		return nil, fmt.Errorf("dashboards: embedded echarts.min.js: %w", err)
	}
	relDir, err := filepath.EvalSymlinks(o.ReleaseDir)
	if err != nil {
		return nil, fmt.Errorf("dashboards: release %s: %w", o.ReleaseDir, err)
	}
	rel, err := loadRelease(ctx, relDir)
	if err != nil {
		return nil, fmt.Errorf("dashboards: load release %s: %w", relDir, err)
	}
	cat, err := datasets.Load()
	if err != nil {
		return nil, fmt.Errorf("dashboards: %w", err)
	}
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return nil, fmt.Errorf("dashboards: %w", err)
	}
	tpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}

	parent := filepath.Dir(filepath.Clean(o.SiteDir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("dashboards: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(o.SiteDir)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("dashboards: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op after a successful swap removed it

	rel.labelEditions(cat)
	b := &builder{
		opts: o, rel: rel, cat: cat, loc: loc, tpl: tpl, dir: tmp,
		now:  o.Now(),
		site: &Site{Dir: o.SiteDir, ReleaseID: rel.ID, CreatedAt: rel.CreatedAt},
	}
	b.site.Stale = o.MaxAge > 0 && b.now.Sub(rel.CreatedAt) > o.MaxAge
	if err := b.build(ctx, echartsJS); err != nil {
		return nil, fmt.Errorf("dashboards: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("dashboards: %w", err)
	}
	if err := swapDir(tmp, o.SiteDir); err != nil {
		return nil, fmt.Errorf("dashboards: install site: %w", err)
	}
	o.Logger.InfoContext(ctx, "dashboards rendered", "site", o.SiteDir, "release", rel.ID,
		"pages", len(b.site.Pages), "charts", len(b.site.Charts), "bytes", b.site.Bytes,
		"stale", b.site.Stale, "elapsed", time.Since(start).String())
	return b.site, nil
}

type builder struct {
	opts Options
	rel  *published
	cat  *datasets.Contract
	loc  *time.Location
	tpl  map[string]*template.Template
	dir  string
	now  time.Time
	mu   sync.Mutex // guards site's counters
	site *Site
}

// write writes one file of the site; it is safe for concurrent use.
func (b *builder) write(rel string, data []byte) error {
	full := filepath.Join(b.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		return err
	}
	b.mu.Lock()
	b.site.Files++
	b.site.Bytes += int64(len(data))
	b.mu.Unlock()
	return nil
}

func (b *builder) build(ctx context.Context, echartsJS []byte) error {
	if err := b.write("assets/echarts.min.js", echartsJS); err != nil {
		return err
	}
	static, err := fs.Sub(assetsFS, "assets/static")
	if err != nil {
		return err
	}
	if err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		return b.write("assets/"+p, data)
	}); err != nil {
		return fmt.Errorf("copy assets: %w", err)
	}
	for _, name := range []string{"echarts.LICENSE.txt", "echarts.NOTICE.txt"} {
		data, err := fs.ReadFile(assetsFS, "assets/vendor/"+name)
		if err != nil {
			return fmt.Errorf("copy assets: %w", err)
		}
		if err := b.write("assets/"+name, data); err != nil {
			return err
		}
	}

	pages := []*page{b.homePage(), b.aboutPage()}
	for _, c := range b.rel.Collectivities {
		pages = append(pages, b.collectivityPage(c))
	}
	for _, p := range b.rel.Projects {
		pages = append(pages, b.projectPage(p))
	}
	// Pages are independent: render them on every core, then list them in
	// a stable order.
	written := make([]renderedPage, len(pages))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, pg := range pages {
		if pg.err != nil {
			return fmt.Errorf("page %s: %w", pg.Path, pg.err)
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			r, err := b.renderPage(pg)
			if err != nil {
				return fmt.Errorf("page %s: %w", pg.Path, err)
			}
			written[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, r := range written {
		b.site.Pages = append(b.site.Pages, r.pages...)
		b.site.Charts = append(b.site.Charts, r.charts...)
	}
	return b.writeFeeds()
}

// page is one HTML page of the site.
type page struct {
	Path      string // relative to the site root, slash-separated
	Kind      string // template name
	Title     string
	Nav       string
	FeedHref  string // relative to the page
	FeedTitle string
	Crumbs    []link
	Charts    []chart
	Body      any
	// Codes are the collectivities the page shows; its « Données au »
	// date is the oldest of their last crawls (nil: all of them).
	Codes []string
	err   error // a chart failed to build
}

type link struct{ Href, Text string }

// pageView is what the templates see.
type pageView struct {
	*page
	Root        string
	DataDate    string
	DataDateISO string
	Stale       bool
	StaleText   string
	ChartsJS    string
	ReleaseID   string
	Licence     string
	Attribution string
	ChartViews  []chartView
	PagePath    string // for embeds: the page the chart comes from
}

type chartView struct {
	*chart
	Root  string
	Embed bool // alone on its page: the chart title is the page's h1
}

// rootOf is the relative prefix from a page to the site root.
func rootOf(p string) string {
	return strings.Repeat("../", strings.Count(p, "/"))
}

// dataAsOf is the date the data of these collectivities (nil: all) is as
// of: the oldest end of their platforms' last complete crawl, the release
// time for a collectivity without one (an older release).
func (b *builder) dataAsOf(codes []string) time.Time {
	at := b.rel.CreatedAt
	oldest := time.Time{}
	for _, c := range b.rel.Collectivities {
		if codes != nil && !slices.Contains(codes, c.Code) {
			continue
		}
		t := c.DataAsOf
		if t.IsZero() || t.After(at) {
			t = at
		}
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return at
	}
	return oldest
}

func (b *builder) view(pg *page) pageView {
	asOf := b.dataAsOf(pg.Codes)
	v := pageView{
		page:        pg,
		Root:        rootOf(pg.Path),
		DataDate:    frDate(asOf, b.loc),
		DataDateISO: asOf.Format(time.RFC3339),
		Stale:       b.site.Stale,
		ReleaseID:   b.rel.ID,
		Licence:     b.cat.Licence,
		Attribution: b.cat.Attribution,
	}
	if v.Stale {
		days := int(b.now.Sub(b.rel.CreatedAt).Hours() / 24)
		v.StaleText = fmt.Sprintf("Ces données ont été publiées le %s, il y a %s jours : elles peuvent ne plus refléter la participation en cours.",
			frDateTime(b.rel.CreatedAt, b.loc), frInt(int64(days)))
	}
	for i := range pg.Charts {
		v.ChartViews = append(v.ChartViews, chartView{chart: &pg.Charts[i], Root: v.Root})
	}
	return v
}

// renderedPage lists what renderPage wrote.
type renderedPage struct {
	pages, charts []string
}

func (b *builder) renderPage(pg *page) (renderedPage, error) {
	var r renderedPage
	for i := range pg.Charts {
		var tb bytes.Buffer
		if err := b.tpl[pg.Kind].ExecuteTemplate(&tb, "table", pg.Charts[i].Table); err != nil {
			return r, fmt.Errorf("execute table template: %w", err)
		}
		pg.Charts[i].TableHTML = template.HTML(tb.String()) // produced and escaped by html/template
	}
	v := b.view(pg)
	if len(pg.Charts) > 0 {
		js := strings.TrimSuffix(pg.Path, ".html") + ".charts.js"
		v.ChartsJS = path.Base(js)
		if err := b.write(js, chartsJS(pg.Charts)); err != nil {
			return r, err
		}
	}
	var buf bytes.Buffer
	if err := b.tpl[pg.Kind].ExecuteTemplate(&buf, "layout", v); err != nil {
		return r, fmt.Errorf("execute template %s: %w", pg.Kind, err)
	}
	if err := b.write(pg.Path, buf.Bytes()); err != nil {
		return r, err
	}
	r.pages = append(r.pages, pg.Path)
	for i := range pg.Charts {
		c := &pg.Charts[i]
		if err := b.writeEmbed(pg, c); err != nil {
			return r, fmt.Errorf("embed %s: %w", c.ID, err)
		}
		r.pages = append(r.pages, "embed/"+c.ID+".html")
		r.charts = append(r.charts, c.ID)
	}
	return r, nil
}

// writeEmbed writes embed/<id>.html (the chart alone, for journalists),
// its data file embed/<id>.js and its data as embed/<id>.csv.
func (b *builder) writeEmbed(from *page, c *chart) error {
	pg := &page{Path: "embed/" + c.ID + ".html", Kind: "embed", Title: c.Title, Charts: []chart{*c}, Codes: from.Codes}
	v := b.view(pg)
	v.ChartsJS = c.ID + ".js"
	v.ChartViews[0].Embed = true
	v.PagePath = from.Path
	if err := b.write("embed/"+c.ID+".js", chartsJS(pg.Charts)); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := b.tpl["embed"].ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("execute template embed: %w", err)
	}
	if err := b.write(pg.Path, buf.Bytes()); err != nil {
		return err
	}
	data, err := tableCSV(c.Table)
	if err != nil {
		return err
	}
	return b.write("embed/"+c.ID+".csv", data)
}

// chartsJS is the data file a page loads before site.js: it only assigns
// JSON options (ids are [A-Za-z0-9_], JSON has <, > and & escaped).
func chartsJS(cs []chart) []byte {
	var buf bytes.Buffer
	buf.WriteString("window.CAPSTAT_CHARTS = window.CAPSTAT_CHARTS || {};\n")
	for _, c := range cs {
		fmt.Fprintf(&buf, "window.CAPSTAT_CHARTS[%q] = %s;\n", c.ID, c.Option)
	}
	return buf.Bytes()
}

func tableCSV(t dataTable) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(t.Head); err != nil {
		return nil, err
	}
	for _, row := range t.Rows {
		rec := make([]string, len(row))
		for i, c := range row {
			rec[i] = c.Raw
		}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"frInt": frInt,
	}
	base, err := template.New("base").Funcs(funcs).ParseFS(templatesFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	out := map[string]*template.Template{}
	for _, kind := range []string{"home", "about", "collectivity", "project", "embed"} {
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("parse templates: %w", err)
		}
		if _, err := t.ParseFS(templatesFS, "templates/"+kind+".html"); err != nil {
			return nil, fmt.Errorf("parse template %s: %w", kind, err)
		}
		out[kind] = t
	}
	return out, nil
}

// apiHref links to a canned query of the query API as CSV; names and
// parameters are checked against the queries catalogue in the tests.
func apiHref(name string, params ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	v.Set("_format", "csv")
	return "api/queries/" + name + "?" + v.Encode()
}

// slugify keeps [a-z0-9-] of s (lowercased); other runs become one "-".
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if len(out) > 40 {
		out = strings.TrimSuffix(out[:40], "-")
	}
	return out
}

func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}

// uniqueSlug returns slug, or slug plus a hash of key when slug is empty,
// lossy or already taken.
func uniqueSlug(taken map[string]bool, slug, key string) string {
	if slug == "" || slug != strings.ToLower(key) || taken[slug] {
		slug = strings.Trim(slug+"-"+shortHash(key), "-")
	}
	taken[slug] = true
	return slug
}

// jsID turns a slug into a chart-id-safe string ([A-Za-z0-9_]).
func jsID(s string) string {
	return strings.ReplaceAll(s, "-", "_")
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
