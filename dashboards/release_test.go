package dashboards

import (
	"context"
	"github.com/capstat/capstat/reports/releasetest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRenderPublishedRelease renders the second of two releases of the
// fixture, so that it has a previous one and changes.
func TestRenderPublishedRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes two releases")
	}
	ctx := context.Background()
	tabs, editions := fixtureTables(smallFixture)
	db := releasetest.WorkingDB(t, tabs)
	dir := t.TempDir()
	releasetest.Publish(t, db, dir, fixtureCreated)
	if _, err := db.ExecContext(ctx, `UPDATE core.proposals SET title = title || ' (modifiée)' WHERE proposal_id LIKE '%-p0'`); err != nil {
		t.Fatal(err)
	}
	clock := fixtureCreated.Add(time.Hour)
	rel := releasetest.Publish(t, db, dir, clock)
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
