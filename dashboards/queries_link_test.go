package dashboards

import (
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/capstat/capstat/queries"
)

var apiLinkRe = regexp.MustCompile(`href="((?:\.\./)*api/queries/[^"]+)"`)

// TestQueryLinksMatchTheCatalogue checks every link to the query API
// against the canned-query catalogue: the query exists and takes every
// parameter the link passes.
func TestQueryLinksMatchTheCatalogue(t *testing.T) {
	cat, err := queries.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	_, site := renderFixture(t, 0)
	seen := map[string]bool{}
	for _, p := range site.Pages {
		data, err := os.ReadFile(filepath.Join(site.Dir, p))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range apiLinkRe.FindAllStringSubmatch(string(data), -1) {
			u, err := url.Parse(html.UnescapeString(m[1]))
			if err != nil {
				t.Fatalf("%s: %q: %v", p, m[1], err)
			}
			name := u.Path[strings.Index(u.Path, "api/queries/")+len("api/queries/"):]
			seen[name] = true
			q, ok := cat.Query(name)
			if !ok {
				t.Errorf("%s links to unknown query %q", p, name)
				continue
			}
			for k := range u.Query() {
				if k == "_format" {
					continue
				}
				found := false
				for _, prm := range q.Params {
					found = found || prm.Name == k
				}
				if !found {
					t.Errorf("%s: query %s has no parameter %q", p, name, k)
				}
			}
			if u.Query().Get("_format") != "csv" {
				t.Errorf("%s: %s is not a CSV link", p, m[1])
			}
		}
	}
	for _, want := range []string{"collectivity_ranking", "edition_change", "participation_daily_range", "top_proposals", "winning_categories"} {
		if !seen[want] {
			t.Errorf("no page links to the %s query", want)
		}
	}
}
