package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An empty working table (a source without votes yet) still yields a
// readable Parquet file with the schema and a CSV with the header.
func TestEmptyDatasets(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	for _, q := range []string{"DELETE FROM core.proposal_votes", "DELETE FROM core.events"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	rel := publish(t, db, testOptions(t, t.TempDir()))
	for _, name := range []string{"proposal_votes", "events"} {
		if n := rel.Manifest.Datasets[name]; n != 0 {
			t.Errorf("%s rows = %d", name, n)
		}
		p := filepath.Join(rel.Dir, "data", name, name+".parquet")
		s := arrowSchema(t, p)
		d, _ := cat.Dataset(name)
		if s.NumFields() != len(d.Columns) {
			t.Errorf("%s: %d fields, want %d", name, s.NumFields(), len(d.Columns))
		}
		if rows := arrowRows(t, p); len(rows) != 0 {
			t.Errorf("%s: %d rows", name, len(rows))
		}
		raw, err := os.ReadFile(filepath.Join(rel.Dir, "csv", name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Split(strings.TrimSuffix(string(raw), "\r\n"), "\r\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "source,") {
			t.Errorf("%s.csv = %q, want the header only", name, raw)
		}
	}
}
