package transform

import (
	"context"
	"testing"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
)

// TestAcceptedValuesFromEnums: an enumerated column gets a data test from
// the catalogue's enum, which finds values outside it and lets NULL pass.
func TestAcceptedValuesFromEnums(t *testing.T) {
	var test *SQLTest
	tests := CatalogTests(datasets.MustLoad())
	for i := range tests {
		if tests[i].Name == "steps.phase.accepted_values" {
			test = &tests[i]
		}
	}
	if test == nil {
		t.Fatal("no steps.phase.accepted_values test derived from the catalogue")
	}
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA core; CREATE TABLE core.steps AS
		SELECT * FROM (VALUES ('a', 's1', 'vote'), ('a', 's2', 'bogus'), ('a', 's3', NULL)) t(source, step_id, phase)`); err != nil {
		t.Fatal(err)
	}
	var id, phase string
	var n int
	rows, err := db.QueryContext(ctx, test.SQL)
	if err != nil {
		t.Fatalf("%s: %v", test.SQL, err)
	}
	defer rows.Close()
	for rows.Next() {
		var source string
		if err := rows.Scan(&source, &id, &phase); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 || id != "s2" || phase != "bogus" {
		t.Errorf("%s found %d rows (last %s %s), want s2 bogus only", test.Name, n, id, phase)
	}
}
