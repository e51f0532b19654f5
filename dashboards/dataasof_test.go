package dashboards

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capstat/capstat/reports"
	"github.com/capstat/capstat/reports/releasetest"
)

// « Données au … » is the end of the last complete crawl of the page's
// collectivity (the manifest's data_as_of of its source), the oldest of
// all on the pages that show every collectivity, and the release date for
// a collectivity without one.
func TestDataDateIsTheLastCrawl(t *testing.T) {
	dir := t.TempDir()
	tabs, _ := fixtureTables(smallFixture)
	landesAt := time.Date(2026, 11, 27, 4, 40, 0, 0, time.UTC)
	occitanieAt := time.Date(2026, 11, 28, 4, 40, 0, 0, time.UTC)
	releasetest.Publish(t, releasetest.WorkingDB(t, tabs), dir, fixtureCreated, func(o *reports.Options) {
		o.Sources = []reports.SourceInfo{
			{Name: "landes", Endpoint: "https://participez.landes.fr/graphql", DataAsOf: landesAt},
			{Name: "occitanie", Endpoint: "https://jeparticipe.laregioncitoyenne.fr/graphql", DataAsOf: occitanieAt},
			{Name: "pa64", Endpoint: "https://pa64.example.fr/graphql"}, // never crawled to the end
		}
	})
	site := filepath.Join(dir, "site")
	if _, err := Render(context.Background(), Options{ReleaseDir: filepath.Join(dir, "latest"), SiteDir: site,
		Now: func() time.Time { return fixtureCreated.Add(time.Hour) }}); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(site, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	date := func(at time.Time) string {
		return `Données au <time datetime="` + at.Format(time.RFC3339) + `">`
	}
	for p, want := range map[string]time.Time{
		"collectivites/40/index.html":  landesAt,
		"collectivites/r76/index.html": occitanieAt,
		"collectivites/64/index.html":  fixtureCreated, // no data_as_of: the release date
		"index.html":                   landesAt,       // the oldest
	} {
		if html := read(p); !strings.Contains(html, date(want)) {
			i := strings.Index(html, "Données au")
			t.Errorf("%s: want %q, has %q", p, date(want), html[i:min(len(html), i+80)])
		}
	}
	// A project page and its embeds follow their collectivity.
	projects, err := filepath.Glob(filepath.Join(site, "projets", "landes-*", "index.html"))
	if err != nil || len(projects) == 0 {
		t.Fatalf("no landes project page: %v", err)
	}
	rel, _ := filepath.Rel(site, projects[0])
	if html := read(rel); !strings.Contains(html, date(landesAt)) {
		t.Errorf("%s: no %q", rel, date(landesAt))
	}
}
