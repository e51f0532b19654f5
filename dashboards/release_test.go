package dashboards

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports"
)

// TestRenderPublishedRelease renders a release written by the real
// publisher (reports.Publish) from a working database holding the fixture,
// twice so the second release has a previous one and changes.
func TestRenderPublishedRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes two releases")
	}
	ctx := context.Background()
	cat, err := datasets.Load()
	if err != nil {
		t.Fatal(err)
	}
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tabs, editions := fixtureTables(smallFixture)
	loadFixtureTables(t, db, cat, tabs, func(d datasets.Dataset) string { return d.Table })

	dir := t.TempDir()
	clock := fixtureCreated
	opts := reports.Options{OutDir: dir, Privacy: reports.DefaultPrivacy(), Catalog: cat,
		Sources: []reports.SourceInfo{{Name: "landes", Endpoint: "https://landes.example.fr/graphql"}},
		Now:     func() time.Time { clock = clock.Add(time.Hour); return clock }}
	if _, err := reports.Publish(ctx, db, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE core.proposals SET title = title || ' (modifiée)' WHERE proposal_id LIKE '%-p0'`); err != nil {
		t.Fatal(err)
	}
	rel, err := reports.Publish(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	site, err := Render(ctx, Options{ReleaseDir: filepath.Join(dir, "latest"), SiteDir: filepath.Join(dir, "site"),
		Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	if site.ReleaseID != rel.ID {
		t.Errorf("site of release %s, want the current one %s", site.ReleaseID, rel.ID)
	}
	home, err := os.ReadFile(filepath.Join(site.Dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range latestFixtureEditions(editions) {
		if want := `<td class="num">` + frRate(e.VotesPer1k) + `</td>`; !strings.Contains(string(home), want) {
			t.Errorf("home page lacks %s's votes per 1 000 (%s)", e.Name, want)
		}
	}
	about, err := os.ReadFile(filepath.Join(site.Dir, "about.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rel.Manifest.Files {
		if !strings.Contains(string(about), `href="data/latest/`+f.Path+`" data-file-href="../latest/`+f.Path+`"`) {
			t.Errorf("about page lacks a download link to %s", f.Path)
		}
		if !strings.Contains(string(about), f.SHA256) {
			t.Errorf("about page lacks the checksum of %s", f.Path)
		}
	}
	if !strings.Contains(string(about), "Publication précédente") {
		t.Error("about page does not name the previous release")
	}
}
