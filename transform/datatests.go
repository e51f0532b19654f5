package transform

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
)

// sampleSize is how many offending rows a failing data test shows.
const sampleSize = 5

// duckTypes maps the catalogue's type names to what DuckDB reports.
var duckTypes = map[string]string{"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}

// CatalogTests derives data tests from the catalogue: primary keys unique
// and not null, foreign keys resolved. Column conformance (names, order,
// types) is checked separately by conformance.
func CatalogTests(c *datasets.Contract) []SQLTest {
	var out []SQLTest
	for _, d := range c.Datasets {
		if len(d.PrimaryKey) > 0 {
			keys := strings.Join(d.PrimaryKey, ", ")
			var nulls []string
			for _, k := range d.PrimaryKey {
				nulls = append(nulls, k+" IS NULL")
			}
			out = append(out, SQLTest{
				Name: d.Name + ".primary_key_not_null",
				Doc:  fmt.Sprintf("Primary key (%s) of %s has no NULL.", keys, d.Table),
				SQL:  fmt.Sprintf("SELECT %s FROM %s WHERE %s", keys, d.Table, strings.Join(nulls, " OR ")),
			}, SQLTest{
				Name: d.Name + ".primary_key_unique",
				Doc:  fmt.Sprintf("Primary key (%s) of %s is unique.", keys, d.Table),
				SQL:  fmt.Sprintf("SELECT %s, count(*) AS n FROM %s GROUP BY ALL HAVING count(*) > 1", keys, d.Table),
			})
		}
		for _, col := range d.Columns {
			if col.Enum == "" {
				continue
			}
			vals := c.Enum(col.Enum)
			lits := make([]string, len(vals))
			for i, v := range vals {
				lits[i] = duckdbx.Quote(v)
			}
			keys := strings.Join(append(append([]string{}, d.PrimaryKey...), col.Name), ", ")
			out = append(out, SQLTest{
				Name: fmt.Sprintf("%s.%s.accepted_values", d.Name, col.Name),
				Doc:  fmt.Sprintf("%s.%s holds only the values of enum %s (%s) or NULL.", d.Table, col.Name, col.Enum, strings.Join(vals, ", ")),
				SQL:  fmt.Sprintf("SELECT DISTINCT %s FROM %s WHERE %s NOT IN (%s)", keys, d.Table, duckdbx.Ident(col.Name), strings.Join(lits, ", ")),
			})
		}
		for _, fk := range d.ForeignKeys {
			ref, ok := c.Dataset(fk.Reference)
			if !ok {
				continue
			}
			var on, notNull []string
			for _, f := range fk.Fields {
				on = append(on, fmt.Sprintf("r.%s = t.%s", f, f))
				notNull = append(notNull, fmt.Sprintf("t.%s IS NOT NULL", f))
			}
			out = append(out, SQLTest{
				Name: fmt.Sprintf("%s.references_%s", d.Name, ref.Name),
				Doc:  fmt.Sprintf("Every (%s) of %s exists in %s.", strings.Join(fk.Fields, ", "), d.Table, ref.Table),
				SQL: fmt.Sprintf("SELECT DISTINCT %s FROM %s t WHERE %s AND NOT EXISTS (SELECT 1 FROM %s r WHERE %s)",
					"t."+strings.Join(fk.Fields, ", t."), d.Table, strings.Join(notNull, " AND "), ref.Table, strings.Join(on, " AND ")),
			})
		}
	}
	return out
}

// conformance checks that every catalogue dataset's table exists with
// exactly the catalogue's columns, in order, with the catalogue's types.
func conformance(ctx context.Context, conn *sql.Conn, c *datasets.Contract) ([]TestResult, error) {
	var out []TestResult
	for _, d := range c.Datasets {
		schema, table, _ := strings.Cut(d.Table, ".")
		rows, err := conn.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`, schema, table)
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", d.Table, err)
		}
		var got []string
		for rows.Next() {
			var n, t string
			if err := rows.Scan(&n, &t); err != nil {
				rows.Close()
				return nil, fmt.Errorf("columns of %s: %w", d.Table, err)
			}
			got = append(got, n+" "+t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("columns of %s: %w", d.Table, err)
		}
		var want []string
		for _, col := range d.Columns {
			t := col.Type
			if dt, ok := duckTypes[t]; ok {
				t = dt
			}
			want = append(want, col.Name+" "+t)
		}
		res := TestResult{Name: d.Name + ".conforms_to_catalogue", Description: fmt.Sprintf("%s has exactly the catalogue's columns, order and types.", d.Table)}
		if len(got) == 0 {
			res.Failures = 1
			res.Sample = []string{"table " + d.Table + " does not exist"}
		}
		for i := 0; len(got) > 0 && i < max(len(got), len(want)); i++ {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				res.Failures++
				if len(res.Sample) < sampleSize {
					res.Sample = append(res.Sample, fmt.Sprintf("column %d: got %q, want %q", i+1, g, w))
				}
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// runDataTests runs conformance, the catalogue tests and the SQL tests.
func runDataTests(ctx context.Context, conn *sql.Conn, cat *datasets.Contract, sqlTests []SQLTest) ([]TestResult, error) {
	out, err := conformance(ctx, conn, cat)
	if err != nil {
		return nil, err
	}
	broken := map[string]bool{}
	for _, r := range out {
		if r.Failures > 0 {
			broken[strings.TrimSuffix(r.Name, ".conforms_to_catalogue")] = true
		}
	}
	for _, t := range append(CatalogTests(cat), sqlTests...) {
		if ds, _, ok := strings.Cut(t.Name, "."); ok && broken[ds] {
			continue // the table is missing or malformed: already reported
		}
		r, err := runSQLTest(ctx, conn, t)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func runSQLTest(ctx context.Context, conn *sql.Conn, t SQLTest) (TestResult, error) {
	res := TestResult{Name: t.Name, Description: t.Doc}
	body := strings.TrimRight(strings.TrimSpace(t.SQL), ";")
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM (\n"+body+"\n)").Scan(&res.Failures); err != nil {
		return res, fmt.Errorf("data test %s: %w", t.Name, err)
	}
	if res.Failures == 0 {
		return res, nil
	}
	rows, err := conn.QueryContext(ctx, fmt.Sprintf("SELECT * FROM (\n%s\n) LIMIT %d", body, sampleSize))
	if err != nil {
		return res, fmt.Errorf("data test %s sample: %w", t.Name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return res, fmt.Errorf("data test %s sample: %w", t.Name, err)
	}
	for rows.Next() {
		vals, err := duckdbx.ScanAny(rows, len(cols))
		if err != nil {
			return res, fmt.Errorf("data test %s sample: %w", t.Name, err)
		}
		var parts []string
		for i, c := range cols {
			parts = append(parts, fmt.Sprintf("%s=%v", c, vals[i]))
		}
		res.Sample = append(res.Sample, strings.Join(parts, ", "))
	}
	return res, rows.Err()
}
