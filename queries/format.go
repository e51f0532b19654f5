package queries

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/capstat/capstat/internal/frfmt"
)

// Column describes one result column.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"` // DuckDB type name
}

// Result is the JSON answer shape.
type Result struct {
	Columns   []Column `json:"columns"`
	Rows      [][]any  `json:"rows"`
	RowCount  int      `json:"row_count"`
	Truncated bool     `json:"truncated"`
	RowLimit  int      `json:"row_limit"`
}

type rowReader struct {
	rows *sql.Rows
	cols []Column
	vals []any
	ptrs []any
}

func newRowReader(rows *sql.Rows) (*rowReader, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	r := &rowReader{rows: rows, cols: make([]Column, len(cts)), vals: make([]any, len(cts)), ptrs: make([]any, len(cts))}
	for i, ct := range cts {
		r.cols[i] = Column{Name: ct.Name(), Type: ct.DatabaseTypeName()}
		r.ptrs[i] = &r.vals[i]
	}
	return r, nil
}

// next reads the next row into r.vals.
func (r *rowReader) next() (bool, error) {
	if !r.rows.Next() {
		return false, r.rows.Err()
	}
	clear(r.vals)
	if err := r.rows.Scan(r.ptrs...); err != nil {
		return false, err
	}
	return true, nil
}

// each calls fn for each row, up to limit rows when limit > 0; truncated
// says that more rows were left unread.
func (r *rowReader) each(limit int, fn func() error) (n int, truncated bool, err error) {
	for {
		ok, err := r.next()
		if err != nil || !ok {
			return n, false, err
		}
		if limit > 0 && n == limit {
			return n, true, nil
		}
		if err := fn(); err != nil {
			return n, false, err
		}
		n++
	}
}

// writeRows writes the rows in format. limit > 0 caps the rows; past it,
// JSON and table answers say they were truncated, and refuseOverLimit turns
// it into a result_too_large error written before anything else (the rows
// are buffered then).
func writeRows(rows *sql.Rows, w io.Writer, format Format, limit int, refuseOverLimit bool) error {
	r, err := newRowReader(rows)
	if err != nil {
		return err
	}
	switch format {
	case FormatCSV:
		if refuseOverLimit {
			var buf bytes.Buffer
			_, more, err := writeCSV(r, &buf, limit)
			if err != nil {
				return err
			}
			if more {
				return errorf(CodeResultTooLarge, "résultat trop grand : plus de %d lignes ; ajoutez des filtres ou un LIMIT, ou utilisez une requête du catalogue (export complet)", limit)
			}
			_, err = buf.WriteTo(w)
			return err
		}
		_, _, err := writeCSV(r, w, limit)
		return err
	case FormatTable:
		return writeTable(r, w, limit)
	case FormatJSON:
		return writeJSON(r, w, limit)
	}
	return errorf(CodeInvalidFormat, "format %q non pris en charge ici", format)
}

func writeCSV(r *rowReader, w io.Writer, limit int) (int, bool, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	rec := make([]string, len(r.cols))
	for i, c := range r.cols {
		rec[i] = c.Name
	}
	if err := cw.Write(rec); err != nil {
		return 0, false, err
	}
	n, truncated, err := r.each(limit, func() error {
		for i, v := range r.vals {
			rec[i] = textValue(v, r.cols[i].Type)
		}
		return cw.Write(rec)
	})
	if err != nil || truncated {
		return n, truncated, err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, false, err
	}
	return n, false, bw.Flush()
}

func writeJSON(r *rowReader, w io.Writer, limit int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	cols, err := json.Marshal(r.cols)
	if err != nil {
		return err
	}
	bw.WriteString(`{"columns":`)
	bw.Write(cols)
	bw.WriteString(`,"rows":[`)
	row := make([]any, len(r.cols))
	sep := ""
	n, truncated, err := r.each(limit, func() error {
		for i, v := range r.vals {
			row[i] = jsonValue(v, r.cols[i].Type)
		}
		b, err := json.Marshal(row)
		if err != nil {
			return fmt.Errorf("encode row: %w", err)
		}
		bw.WriteString(sep + "\n")
		bw.Write(b)
		sep = ","
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(bw, "\n],\"row_count\":%d,\"truncated\":%t,\"row_limit\":%d}\n", n, truncated, limit)
	return bw.Flush()
}

func writeTable(r *rowReader, w io.Writer, limit int) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	rec := make([]string, len(r.cols))
	for i, c := range r.cols {
		rec[i] = cell(c.Name)
	}
	fmt.Fprintln(tw, strings.Join(rec, "\t"))
	for i, c := range r.cols {
		rec[i] = strings.Repeat("-", max(3, len([]rune(cell(c.Name)))))
	}
	fmt.Fprintln(tw, strings.Join(rec, "\t"))
	n, truncated, err := r.each(limit, func() error {
		for i, v := range r.vals {
			if v == nil {
				rec[i] = "NULL"
			} else {
				rec[i] = cell(tableValue(v, r.cols[i].Type))
			}
		}
		_, err := fmt.Fprintln(tw, strings.Join(rec, "\t"))
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if truncated {
		fmt.Fprintf(bw, "(%d premières lignes affichées : résultat tronqué ; utilisez --format csv pour tout exporter)\n", n)
	} else {
		fmt.Fprintf(bw, "(%d lignes)\n", n)
	}
	return bw.Flush()
}

// tableValue renders a value for people (the table format): numbers the
// French way, as the site shows them (frfmt); CSV, JSON and Parquet keep
// raw values for machines.
func tableValue(v any, dbType string) string {
	switch x := v.(type) {
	case float64:
		return frfmt.Number(x)
	case float32:
		return frfmt.Number(float64(x))
	case int64:
		return frfmt.Int(x)
	case int32:
		return frfmt.Int(int64(x))
	case int16:
		return frfmt.Int(int64(x))
	case int8:
		return frfmt.Int(int64(x))
	case int:
		return frfmt.Int(int64(x))
	}
	return textValue(v, dbType)
}

// cell makes a value safe for one tab-separated table cell.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func formatTime(t time.Time, dbType string) string {
	switch dbType {
	case "DATE":
		return t.Format("2006-01-02")
	case "TIME":
		return t.Format("15:04:05.999999")
	case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS":
		return t.Format("2006-01-02T15:04:05.999999999")
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func formatFloat(f float64) string {
	if math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// textValue renders a value for CSV and table output (NULL is empty).
func textValue(v any, dbType string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32, int16, int8, int, uint8, uint16, uint32, uint64, uint:
		return fmt.Sprint(x)
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case time.Time:
		return formatTime(x, dbType)
	case *big.Int:
		return x.String()
	case duckdb.Decimal:
		return x.String()
	case duckdb.UUID:
		return x.String()
	}
	b, err := json.Marshal(jsonValue(v, dbType))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// jsonValue converts a driver value to something encoding/json renders well.
func jsonValue(v any, dbType string) any {
	switch x := v.(type) {
	case nil, string, bool, int64, int32, int16, int8, int, uint8, uint16, uint32, uint64, uint:
		return x
	case []byte:
		return string(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return formatFloat(x)
		}
		return x
	case float32:
		return jsonValue(float64(x), dbType)
	case time.Time:
		return formatTime(x, dbType)
	case *big.Int:
		return json.Number(x.String())
	case duckdb.Decimal:
		return json.Number(x.String())
	case duckdb.UUID:
		return x.String()
	case duckdb.Interval:
		return map[string]any{"months": x.Months, "days": x.Days, "micros": x.Micros}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e, "")
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e, "")
		}
		return out
	case duckdb.Map:
		out := make([]any, 0, len(x))
		for k, e := range x {
			out = append(out, map[string]any{"key": jsonValue(k, ""), "value": jsonValue(e, "")})
		}
		return out
	}
	return fmt.Sprint(v)
}

// Format is an output format.
type Format string

// Output formats.
const (
	FormatTable   Format = "table"
	FormatCSV     Format = "csv"
	FormatJSON    Format = "json"
	FormatParquet Format = "parquet"
)

// ParseFormat parses a format name; "" means JSON.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FormatJSON, nil
	case FormatTable, FormatCSV, FormatJSON, FormatParquet:
		return f, nil
	}
	return "", errorf(CodeInvalidFormat, "format %q inconnu (table, csv, json ou parquet)", s)
}

// ContentType is the HTTP media type of the format.
func (f Format) ContentType() string {
	switch f {
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatParquet:
		return "application/vnd.apache.parquet"
	case FormatTable:
		return "text/plain; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}
