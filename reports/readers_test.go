package reports

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
)

// canon renders one value the same way whichever reader produced it.
func canon(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("?%T(%v)", v, v)
}

// digest is a row count and an order-independent checksum of rows.
type digest struct {
	Rows int
	Sum  string
}

func digestOf(rows []string) digest {
	sort.Strings(rows)
	h := sha256.New()
	for _, r := range rows {
		h.Write([]byte(r))
		h.Write([]byte{0})
	}
	return digest{len(rows), hex.EncodeToString(h.Sum(nil))}
}

// sqlDigest reads query (whose columns are d's, in catalogue order) with
// database/sql.
func sqlDigest(t testing.TB, db *sql.DB, query string, ncols int) digest {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]any, ncols)
		ptrs := make([]any, ncols)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, ncols)
		for i, v := range vals {
			parts[i] = canon(v)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return digestOf(out)
}

func selectList(d *datasets.Dataset) string {
	var cols []string
	for _, c := range d.Columns {
		cols = append(cols, duckdbx.Ident(c.Name))
	}
	return strings.Join(cols, ", ")
}

// arrowDigest reads every Parquet file under dir with Apache Arrow's Go
// Parquet reader (an implementation independent of DuckDB), adding hive
// partition values from the directory names.
func arrowDigest(t testing.TB, dir string, d *datasets.Dataset) digest {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		hive := map[string]any{}
		relp, _ := filepath.Rel(dir, filepath.Dir(p))
		for _, seg := range strings.Split(filepath.ToSlash(relp), "/") {
			if k, v, ok := strings.Cut(seg, "="); ok {
				v, _ = url.PathUnescape(v)
				hive[k] = v
			}
		}
		for _, row := range arrowRows(t, p) {
			for k, v := range hive {
				row[k] = v
			}
			parts := make([]string, len(d.Columns))
			for i, c := range d.Columns {
				v, ok := row[c.Name]
				if !ok {
					t.Fatalf("%s: column %s missing", p, c.Name)
				}
				parts[i] = canon(v)
			}
			out = append(out, strings.Join(parts, "|"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return digestOf(out)
}

// arrowRows decodes a Parquet file into rows of Go values.
func arrowRows(t testing.TB, path string) []map[string]any {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var out []map[string]any
	for rr.Next() {
		rec := rr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			row := map[string]any{}
			for c, f := range rec.Schema().Fields() {
				row[f.Name] = arrowValue(t, rec.Column(c), r)
			}
			out = append(out, row)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func arrowValue(t testing.TB, col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch a := col.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit)
	case *array.Date32:
		return a.Value(i).ToTime()
	}
	t.Fatalf("unexpected Arrow type %s", col.DataType())
	return nil
}

// arrowSchema returns the Arrow schema pqarrow derives for a Parquet file.
func arrowSchema(t testing.TB, path string) *arrow.Schema {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
