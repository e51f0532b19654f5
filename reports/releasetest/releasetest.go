// Package releasetest builds small published releases for the tests of
// the stages that read them (queries, dashboards): rows given per dataset
// go into a working database holding every table of the data contract,
// and the real publisher (reports.Publish) writes the release. Readers are
// thus tested on releases in the real format, never on hand-made copies
// of it.
package releasetest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports"
)

// Rows are the rows of one dataset: the columns given, in order, and
// their values; the catalogue's other columns are NULL.
type Rows struct {
	Cols   []string
	Values [][]any
}

// Add appends a row.
func (r *Rows) Add(vals ...any) { r.Values = append(r.Values, vals) }

// Tables are rows by dataset name.
type Tables map[string]*Rows

// CreateTables creates, in db, one table per catalogue dataset with the
// catalogue's columns and types, named by name (nil: the dataset's
// working table, such as core.proposals), and inserts the rows of tables.
func CreateTables(tb testing.TB, db *sql.DB, cat *datasets.Contract, tables Tables, name func(datasets.Dataset) string) {
	tb.Helper()
	ctx := context.Background()
	if name == nil {
		name = func(d datasets.Dataset) string { return d.Table }
	}
	for _, d := range cat.Datasets {
		defs := make([]string, len(d.Columns))
		for i, col := range d.Columns {
			defs[i] = duckdbx.Ident(col.Name) + " " + col.Type
		}
		schema, _, _ := strings.Cut(name(d), ".")
		if err := duckdbx.Exec(ctx, db, "CREATE SCHEMA IF NOT EXISTS "+schema,
			fmt.Sprintf("CREATE TABLE %s (%s)", name(d), strings.Join(defs, ", "))); err != nil {
			tb.Fatalf("create %s: %v", name(d), err)
		}
		t := tables[d.Name]
		if t == nil {
			continue
		}
		quoted := make([]string, len(t.Cols))
		for i, c := range t.Cols {
			quoted[i] = duckdbx.Ident(c)
		}
		ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.Cols)), ", ") + ")"
		const batch = 500
		for start := 0; start < len(t.Values); start += batch {
			end := min(start+batch, len(t.Values))
			var args []any
			values := make([]string, 0, end-start)
			for _, row := range t.Values[start:end] {
				if len(row) != len(t.Cols) {
					tb.Fatalf("dataset %s: %d values for %d columns", d.Name, len(row), len(t.Cols))
				}
				values = append(values, ph)
				args = append(args, row...)
			}
			q := fmt.Sprintf("INSERT INTO %s (%s) VALUES %s", name(d), strings.Join(quoted, ", "), strings.Join(values, ", "))
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				tb.Fatalf("insert into %s: %v", name(d), err)
			}
		}
	}
}

// WorkingDB returns an in-memory working database holding tables.
func WorkingDB(tb testing.TB, tables Tables) *sql.DB {
	tb.Helper()
	db, err := duckdbx.Open(context.Background(), "")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	CreateTables(tb, db, datasets.MustLoad(), tables, nil)
	return db
}

// Publish publishes db into outDir at the instant now (the release id is
// its UTC timestamp), with the default privacy policy unless edit changes
// the options.
func Publish(tb testing.TB, db *sql.DB, outDir string, now time.Time, edit ...func(*reports.Options)) *reports.Published {
	tb.Helper()
	opts := reports.Options{OutDir: outDir, Privacy: reports.DefaultPrivacy(), Catalog: datasets.MustLoad(),
		Now: func() time.Time { return now }}
	for _, e := range edit {
		e(&opts)
	}
	rel, err := reports.Publish(context.Background(), db, opts)
	if err != nil {
		tb.Fatalf("publish: %v", err)
	}
	return rel
}
