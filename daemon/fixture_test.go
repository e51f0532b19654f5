package daemon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fixture is a published tree in a temporary DIR, shaped like
// /tmp/release-layout.md: releases/<id>/..., latest -> releases/<id>, site/.
type fixture struct {
	t   *testing.T
	dir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir()}
	f.write("site/index.html", `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Budgets participatifs</title></head><body><h1>Tableau de bord</h1></body></html>`)
	f.write("site/embed/votes.html", `<!DOCTYPE html><html lang="fr"><body>votes</body></html>`)
	f.write("site/assets/app.js", `console.log("capstat");`)
	f.write("site/assets/style.css", `body{font-family:sans-serif}`)
	f.write("site/releases.atom", `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"></feed>`)
	f.write("site/.draft.html", `hidden`)
	return f
}

func (f *fixture) path(rel string) string { return filepath.Join(f.dir, filepath.FromSlash(rel)) }

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	p := f.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// csvBody is the fixture dataset, hostile title and accents included.
const csvBody = "source,project_id,title\n" +
	"paris,UHJvamVjdDox,\"<img src=x onerror=alert(1)>\"\n" +
	"lyon,UHJvamVjdDoy,Budget participatif été 2026 🌳\n"

// addRelease writes a complete release folder (not yet current).
func (f *fixture) addRelease(id, previous string, created time.Time) {
	f.t.Helper()
	base := "releases/" + id + "/"
	f.write(base+"csv/projects.csv", csvBody)
	f.write(base+"data/projects/source=paris/part-0.parquet", "PAR1 fake parquet bytes PAR1")
	f.write(base+"capstat.duckdb", "fake duckdb snapshot")
	f.write(base+"README.md", "# Données\n")
	f.write(base+"datapackage.json", `{"name":"capstat"}`)
	f.write(base+"changes.json", `{"release_id":"`+id+`"}`)
	m := map[string]any{
		"release_id":          id,
		"created_at":          created.UTC().Format(time.RFC3339),
		"previous_release_id": previous,
		"files": []map[string]any{
			{"path": "csv/projects.csv", "bytes": len(csvBody), "rows": 2, "sha256": "x", "dataset": "projects", "format": "csv"},
		},
	}
	b, _ := json.Marshal(m)
	f.write(base+"manifest.json", string(b))
}

// publish switches latest to releases/<id> atomically, like the publisher.
func (f *fixture) publish(id string) {
	f.t.Helper()
	tmp := f.path(".latest.tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Join("releases", id), tmp); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, f.path("latest")); err != nil {
		f.t.Fatal(err)
	}
}
