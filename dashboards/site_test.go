package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// pinManifest replaces the sizes and checksums of the fixture's manifest
// (the DuckDB file is not byte-for-byte reproducible) so golden files are.
func pinManifest(t *testing.T, latest string) {
	t.Helper()
	p := filepath.Join(latest, "manifest.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for i, f := range m["files"].([]any) {
		f := f.(map[string]any)
		f["bytes"] = 1000 * (i + 1)
		f["sha256"] = strings.Repeat("0123456789abcdef", 4)
	}
	data, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGoldenPages(t *testing.T) {
	dir := t.TempDir()
	fx := writeFixtureRelease(t, dir, smallFixture)
	pinManifest(t, fx.Latest)
	site, err := Render(context.Background(), Options{ReleaseDir: fx.Latest, SiteDir: filepath.Join(dir, "site"),
		Now: func() time.Time { return fixtureCreated.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	landes := "projets/" + slugify("landes") + "-" + shortHash("landes", projectID("landes", 2026))
	for _, tc := range []struct{ golden, path string }{
		{"home.html.golden", "index.html"},
		{"about.html.golden", "about.html"},
		{"collectivity.html.golden", "collectivites/40/index.html"},
		{"project.html.golden", landes + "/index.html"},
		{"project.charts.js.golden", landes + "/index.charts.js"},
		{"project.feed.xml.golden", landes + "/feed.xml"},
		{"embed.html.golden", "embed/home_votes_per_1k_departement.html"},
		{"embed.csv.golden", "embed/home_votes_per_1k_departement.csv"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(site.Dir, tc.path))
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./dashboards -run TestGoldenPages -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run with -update after checking the diff):\n%s", tc.path, golden, firstDiff(string(got), string(want)))
			}
		})
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

var (
	attrRe       = regexp.MustCompile(`\s(href|src)="([^"]*)"`)
	inlineScript = regexp.MustCompile(`<script(?:\s[^>]*)?>`)
	styleAttr    = regexp.MustCompile(`\sstyle=`)
	h1Re         = regexp.MustCompile(`<h1[\s>]`)
	tableRe      = regexp.MustCompile(`<table>\s*<caption>[^<]+</caption>`)
)

// TestPageStructure checks every page for what the CSP and RGAA require:
// lang="fr", no inline script or style, one h1, captioned tables, the
// data date, and local links that resolve inside the site.
func TestPageStructure(t *testing.T) {
	_, site := renderFixture(t, 0)
	for _, p := range site.Pages {
		data, err := os.ReadFile(filepath.Join(site.Dir, p))
		if err != nil {
			t.Fatal(err)
		}
		html := string(data)
		if !strings.Contains(html, `<html lang="fr">`) {
			t.Errorf("%s: no lang=fr", p)
		}
		for _, tag := range inlineScript.FindAllString(html, -1) {
			if !strings.Contains(tag, ` src="`) {
				t.Errorf("%s: inline script %s", p, tag)
			}
		}
		if styleAttr.MatchString(html) || strings.Contains(html, "<style") {
			t.Errorf("%s: inline style", p)
		}
		if !strings.Contains(html, "Données au ") {
			t.Errorf("%s: no data date", p)
		}
		if n := len(h1Re.FindAllString(html, -1)); n != 1 {
			t.Errorf("%s: %d h1, want 1", p, n)
		}
		if !strings.HasPrefix(p, "embed/") {
			if !strings.Contains(html, `class="skip-link" href="#contenu"`) || !strings.Contains(html, `id="contenu"`) {
				t.Errorf("%s: no skip link to the main content", p)
			}
			if !strings.Contains(html, `rel="alternate" type="application/atom+xml"`) {
				t.Errorf("%s: no feed link", p)
			}
		}
		if tables, captioned := strings.Count(html, "<table>"), len(tableRe.FindAllString(html, -1)); tables != captioned {
			t.Errorf("%s: %d tables, %d with a caption", p, tables, captioned)
		}
		if strings.Contains(html, "<img") || strings.Contains(html, "<script>alert") {
			t.Errorf("%s: hostile markup was not escaped", p)
		}
		for _, m := range attrRe.FindAllStringSubmatch(html, -1) {
			ref := m[2]
			switch {
			case strings.HasPrefix(ref, "#"), strings.HasPrefix(ref, "https://"), strings.HasPrefix(ref, "http://"):
				continue
			case strings.HasPrefix(ref, "/"):
				t.Errorf("%s: absolute link %q breaks the site opened as files", p, ref)
				continue
			}
			target := path.Join(path.Dir(p), ref)
			if strings.HasPrefix(target, "data/latest/") || strings.HasPrefix(target, "api/queries/") {
				continue // served by the daemon beside the site (hidden or redirected from files by site.js)
			}
			if _, err := os.Stat(filepath.Join(site.Dir, filepath.FromSlash(target))); err != nil {
				t.Errorf("%s: broken link %q", p, ref)
			}
		}
	}
}

// atom mirrors the elements RFC 4287 requires.
type atom struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Author  []struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Links []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Summary string `xml:"summary"`
		Links   []struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
	} `xml:"entry"`
}

func TestFeedsAreValidAtom(t *testing.T) {
	fx, site := renderFixture(t, 0)
	if len(site.Feeds) != 1+len(fixtureCollectivities)+len(fx.Editions) {
		t.Errorf("%d feeds, want one for the site, each collectivity and each project", len(site.Feeds))
	}
	titles := map[string][]string{}
	for _, f := range site.Feeds {
		data, err := os.ReadFile(filepath.Join(site.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		var a atom
		if err := xml.Unmarshal(data, &a); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if a.ID == "" || a.Title == "" || len(a.Author) == 0 || a.Author[0].Name == "" {
			t.Errorf("%s: missing feed id, title or author", f)
		}
		if _, err := time.Parse(time.RFC3339, a.Updated); err != nil {
			t.Errorf("%s: updated %q: %v", f, a.Updated, err)
		}
		self := false
		for _, l := range a.Links {
			if l.Rel == "self" {
				self = true
			}
			if _, err := os.Stat(filepath.Join(site.Dir, filepath.FromSlash(path.Join(path.Dir(f), l.Href)))); err != nil {
				t.Errorf("%s: link %q does not resolve", f, l.Href)
			}
		}
		if !self {
			t.Errorf("%s: no rel=self link", f)
		}
		ids := map[string]bool{}
		for _, e := range a.Entries {
			if e.ID == "" || e.Title == "" || e.Summary == "" {
				t.Errorf("%s: entry without id, title or summary: %+v", f, e)
			}
			if ids[e.ID] {
				t.Errorf("%s: duplicate entry id %s", f, e.ID)
			}
			ids[e.ID] = true
			if u, err := time.Parse(time.RFC3339, e.Updated); err != nil || u.After(fixtureCreated) {
				t.Errorf("%s: entry %s updated %q (after the release or invalid)", f, e.ID, e.Updated)
			}
			for _, l := range e.Links {
				if _, err := os.Stat(filepath.Join(site.Dir, filepath.FromSlash(path.Join(path.Dir(f), l.Href)))); err != nil {
					t.Errorf("%s: entry link %q does not resolve", f, l.Href)
				}
			}
			titles[f] = append(titles[f], e.Title)
		}
	}
	// The Landes 2026 edition: deposit closed, vote open, no winners yet,
	// milestones passed and one proposal published since the last release.
	landes := "projets/" + slugify("landes") + "-" + shortHash("landes", projectID("landes", 2026)) + "/feed.xml"
	all := strings.Join(titles[landes], "\n")
	for _, want := range []string{"Ouverture de l'étape « Vote des habitant·es »", "Clôture de l'étape « Dépôt des idées »",
		"Cap des 1 000 votes franchi", "1 nouvelle proposition : Budget participatif 2026 🌱 " + hostileScript} {
		if !strings.Contains(all, strings.ReplaceAll(want, "1 000", "1"+nnbsp+"000")) {
			t.Errorf("%s lacks %q; entries:\n%s", landes, want, all)
		}
	}
	for _, notWant := range []string{"Clôture de l'étape « Vote", "lauréate"} {
		if strings.Contains(all, notWant) {
			t.Errorf("%s: unexpected %q (the vote is still open)", landes, notWant)
		}
	}
	landes2025 := "projets/" + slugify("landes") + "-" + shortHash("landes", projectID("landes", 2025)) + "/feed.xml"
	if !strings.Contains(strings.Join(titles[landes2025], "\n"), "propositions lauréates") {
		t.Errorf("%s: winners not announced after the closed vote", landes2025)
	}
	// One 2026 proposal per collectivity was published since the previous release.
	if !strings.Contains(strings.Join(titles["feed.xml"], "\n"), "Nouvelle publication des données : 3 propositions ajoutées") {
		t.Errorf("site feed lacks the release entry from changes.json")
	}
}

func TestStaleWarningAndAtomicReplace(t *testing.T) {
	dir := t.TempDir()
	fx := writeFixtureRelease(t, dir, smallFixture)
	siteDir := filepath.Join(dir, "site")
	render := func(now time.Time) string {
		t.Helper()
		if _, err := Render(context.Background(), Options{ReleaseDir: fx.Latest, SiteDir: siteDir, MaxAge: 48 * time.Hour,
			Now: func() time.Time { return now }}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(siteDir, "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	fresh := render(fixtureCreated.Add(47 * time.Hour))
	if strings.Contains(fresh, `role="alert"`) {
		t.Error("warning shown for a fresh release")
	}
	stale := render(fixtureCreated.Add(72 * time.Hour))
	if !strings.Contains(stale, `role="alert"`) || !strings.Contains(stale, "il y a 3 jours") {
		t.Error("no stale-data warning for a release older than MaxAge")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".site") {
			t.Errorf("temporary directory left behind: %s", e.Name())
		}
	}
}

func TestRenderErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Render(context.Background(), Options{}); err == nil {
		t.Error("no error without directories")
	}
	if _, err := Render(context.Background(), Options{ReleaseDir: filepath.Join(dir, "latest"), SiteDir: filepath.Join(dir, "site")}); err == nil {
		t.Error("no error for a missing release")
	}
	if _, err := os.Stat(filepath.Join(dir, "site")); !os.IsNotExist(err) {
		t.Errorf("a failed render left a site: %v", err)
	}
}

func FuzzSlugify(f *testing.F) {
	for _, s := range []string{"40", "R76", "2A", "Pyrénées-Atlantiques", hostileImg, "", "---", "UHJvamVjdDox/2026+="} {
		f.Add(s)
	}
	ok := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$|^$`)
	f.Fuzz(func(t *testing.T, s string) {
		slug := slugify(s)
		if !ok.MatchString(slug) || len(slug) > 40 {
			t.Fatalf("slugify(%q) = %q", s, slug)
		}
		u := uniqueSlug(map[string]bool{}, slug, s)
		if u == "" || !ok.MatchString(u) {
			t.Fatalf("uniqueSlug(%q) = %q", s, u)
		}
		if id := jsID(u); strings.ContainsFunc(id, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
		}) {
			t.Fatalf("jsID(%q) = %q", u, id)
		}
	})
}

// TestRenderEmptyRelease: a release with no collectivity and no project
// (a first run on a new platform) still gives a working site.
func TestRenderEmptyRelease(t *testing.T) {
	dir := t.TempDir()
	fx := writeFixtureRelease(t, dir, fixtureSize{})
	site, err := Render(context.Background(), Options{ReleaseDir: fx.Latest, SiteDir: filepath.Join(dir, "site"),
		Now: func() time.Time { return fixtureCreated }})
	if err != nil {
		t.Fatal(err)
	}
	home, err := os.ReadFile(filepath.Join(site.Dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(home), "Aucune collectivité n") || !strings.Contains(string(home), "encore publié") || strings.Contains(string(home), "data-chart=") {
		t.Logf("%s", home)
		t.Error("empty home page does not say that nothing is published yet")
	}
	if len(site.Feeds) != 1 {
		t.Errorf("feeds %v, want only the site feed", site.Feeds)
	}
}

// TestPeerWindow: with many collectivities, a collectivity's ranking chart
// keeps the leaders and its neighbours while the home page keeps everyone.
func TestPeerWindow(t *testing.T) {
	dir := t.TempDir()
	fx := writeFixtureRelease(t, dir, fixtureSize{Collectivities: 40, Editions: 1, ProposalsPerProject: 4})
	site, err := Render(context.Background(), Options{ReleaseDir: fx.Latest, SiteDir: filepath.Join(dir, "site"),
		Now: func() time.Time { return fixtureCreated }})
	if err != nil {
		t.Fatal(err)
	}
	rows := func(csvPath string) []string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(site.Dir, "embed", csvPath))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(data)), "\n")[1:] // without the header
	}
	// 39 départements and one région (Occitanie), compared apart.
	if got := len(rows("home_votes_per_1k_departement.csv")); got != 39+1 {
		t.Errorf("home chart of the départements has %d rows, want 39 and the median", got)
	}
	if got := rows("c_r76_rank_votes_per_1k.csv"); len(got) != 1+1 || !strings.HasPrefix(got[0], "Occitanie,") {
		t.Errorf("Occitanie's ranking chart = %q, want the région alone and its median", got)
	}
	for _, code := range []string{"40", "64", "904", "940"} {
		peers := rows("c_" + code + "_rank_votes_per_1k.csv")
		if len(peers) > peersLeaders+2*peersAround+1+1 || len(peers) < peersLeaders+1 {
			t.Errorf("collectivity %s: %d rows in its ranking chart", code, len(peers))
		}
	}
	landes := rows("c_40_rank_votes_per_1k.csv")
	found := false
	for _, r := range landes {
		found = found || strings.HasPrefix(r, "Landes,")
	}
	if !found {
		t.Errorf("Landes missing from its own ranking chart: %v", landes)
	}
}
