package reports

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
)

// arrowType maps a catalogue (DuckDB) type to the Arrow type DuckDB's
// Parquet writer produces for it.
func arrowType(duck string) (arrow.DataType, error) {
	switch duck {
	case "VARCHAR":
		return arrow.BinaryTypes.String, nil
	case "BIGINT":
		return arrow.PrimitiveTypes.Int64, nil
	case "INTEGER":
		return arrow.PrimitiveTypes.Int32, nil
	case "DOUBLE":
		return arrow.PrimitiveTypes.Float64, nil
	case "BOOLEAN":
		return arrow.FixedWidthTypes.Boolean, nil
	case "TIMESTAMPTZ":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	case "DATE":
		return arrow.FixedWidthTypes.Date32, nil
	}
	return nil, fmt.Errorf("no Arrow type for DuckDB type %s", duck)
}

// frictionlessType maps a catalogue (DuckDB) type to a Table Schema type.
func frictionlessType(duck string) (string, error) {
	switch duck {
	case "VARCHAR":
		return "string", nil
	case "BIGINT", "INTEGER":
		return "integer", nil
	case "DOUBLE":
		return "number", nil
	case "BOOLEAN":
		return "boolean", nil
	case "TIMESTAMPTZ":
		return "datetime", nil
	case "DATE":
		return "date", nil
	}
	return "", fmt.Errorf("no Table Schema type for DuckDB type %s", duck)
}

// parquetKV returns the file-level key/value metadata of a dataset's
// Parquet files. "ARROW:schema" carries an Arrow schema whose fields hold
// the catalogue descriptions as field metadata (keys "description" and
// "description_fr"), so Arrow-based readers (pyarrow, arrow-go, R arrow,
// polars) see per-column descriptions; "capstat:columns" carries the same
// as JSON for any reader. skip names the hive partition column, which is
// not stored in the files.
func parquetKV(d *datasets.Dataset, releaseID, licence, skip string) (map[string]string, error) {
	var fields []arrow.Field
	type colDoc struct {
		Name          string `json:"name"`
		Type          string `json:"type"`
		Description   string `json:"description"`
		DescriptionFR string `json:"description_fr"`
	}
	var docs []colDoc
	for _, c := range d.Columns {
		docs = append(docs, colDoc{c.Name, c.Type, c.Description, c.DescriptionFR})
		if c.Name == skip {
			continue
		}
		t, err := arrowType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("dataset %s column %s: %w", d.Name, c.Name, err)
		}
		fields = append(fields, arrow.Field{
			Name: c.Name, Type: t, Nullable: true,
			Metadata: arrow.NewMetadata([]string{"description", "description_fr"}, []string{c.Description, c.DescriptionFR}),
		})
	}
	schema := arrow.NewSchema(fields, nil)
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("dataset %s: serialise Arrow schema: %w", d.Name, err)
	}
	cols, err := json.Marshal(docs)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"ARROW:schema":           base64.StdEncoding.EncodeToString(buf.Bytes()),
		"capstat:dataset":        d.Name,
		"capstat:title":          d.Title,
		"capstat:description":    d.Description,
		"capstat:description_fr": d.DescriptionFR,
		"capstat:columns":        string(cols),
		"capstat:release_id":     releaseID,
		"capstat:licence":        licence,
	}, nil
}

// kvSQL renders metadata as a DuckDB struct literal for KV_METADATA.
func kvSQL(kv map[string]string) string {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = duckdbx.Quote(k) + ": " + duckdbx.Quote(kv[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// buildDataPackage renders datapackage.json. Each dataset is a
// tabular-data-resource on its CSV file (named like the dataset, target of
// the foreign keys) plus a data-resource "<dataset>-parquet" listing its
// Parquet files with the same schema.
func buildDataPackage(cat *datasets.Contract, m *release.Manifest, lic release.Licence, sources []SourceInfo) (*release.DataPackage, error) {
	dp := &release.DataPackage{
		Profile:     "tabular-data-package",
		Name:        "capstat",
		ID:          "capstat-" + m.ReleaseID,
		Title:       "Capstat : participation citoyenne et budgets participatifs (Cap Collectif)",
		Description: "Données ouvertes des plateformes Cap Collectif (projets, propositions, votes, contributions, indicateurs de budgets participatifs). " + cat.Attribution + " / Open data from Cap Collectif platforms. See README.md.",
		Version:     m.ReleaseID,
		Created:     m.CreatedAt.UTC().Format(time.RFC3339),
		Licenses:    []release.Licence{lic},
		Sources:     []release.Source{},
	}
	for _, s := range sources {
		dp.Sources = append(dp.Sources, release.Source{Title: s.Name, Path: s.Endpoint})
	}
	byDataset := map[string][]release.FileEntry{}
	for _, f := range m.Files {
		if f.Dataset != "" {
			byDataset[f.Dataset] = append(byDataset[f.Dataset], f)
		}
	}
	for i := range cat.Datasets {
		d := &cat.Datasets[i]
		ts := &release.TableSchema{PrimaryKey: d.PrimaryKey, MissingValues: []string{""}}
		for _, c := range d.Columns {
			t, err := frictionlessType(c.Type)
			if err != nil {
				return nil, fmt.Errorf("dataset %s column %s: %w", d.Name, c.Name, err)
			}
			f := release.Field{Name: c.Name, Type: t, Description: c.Description, DescriptionFR: c.DescriptionFR}
			if t == "datetime" {
				f.Format = "%Y-%m-%dT%H:%M:%SZ"
			}
			ts.Fields = append(ts.Fields, f)
		}
		for _, fk := range d.ForeignKeys {
			ts.ForeignKeys = append(ts.ForeignKeys, release.ForeignKey{Fields: fk.Fields, Reference: release.FKRef{Resource: fk.Reference, Fields: fk.Fields}})
		}
		var parquet []string
		for _, f := range byDataset[d.Name] {
			switch f.Format {
			case "csv":
				dp.Resources = append(dp.Resources, release.Resource{
					Name: d.Name, Profile: "tabular-data-resource", Path: f.Path,
					Title: d.Title, Description: d.Description + " / " + d.DescriptionFR,
					Format: "csv", Mediatype: "text/csv", Encoding: "utf-8",
					Bytes: f.Bytes, Hash: "sha256:" + f.SHA256,
					Dialect: &release.Dialect{Delimiter: ",", DoubleQuote: true, LineTerminator: "\r\n", QuoteChar: `"`, Header: true},
					Schema:  ts,
				})
			case "parquet":
				parquet = append(parquet, f.Path)
			}
		}
		if len(parquet) > 0 {
			sort.Strings(parquet)
			var path any = parquet
			if len(parquet) == 1 {
				path = parquet[0]
			}
			r := release.Resource{
				Name: d.Name + "-parquet", Profile: "data-resource", Path: path,
				Title: d.Title + " (Parquet)", Description: d.Description,
				Format: "parquet", Mediatype: "application/vnd.apache.parquet",
				Schema: ts,
			}
			if slices.Contains(m.DatasetsWithoutCSV, d.Name) {
				// No CSV: the Parquet files are the dataset's resource
				// (and the target of foreign keys).
				r.Name, r.Title = d.Name, d.Title
				r.Description = fmt.Sprintf("%s / %s — %s", d.Description, d.DescriptionFR, noCSVNote(m.Datasets[d.Name], m.CSVMaxRows))
			}
			dp.Resources = append(dp.Resources, r)
		}
	}
	return dp, nil
}

// noCSVNote says, in French and English, why a dataset has no CSV file.
func noCSVNote(rows, max int64) string {
	return fmt.Sprintf("Pas de CSV : %d lignes, plus que ce qu'ouvre un tableur (%d) ; lisez le Parquet, la base capstat.duckdb ou l'export CSV d'une requête filtrée. / No CSV: %d rows, more than a spreadsheet opens (%d); read the Parquet files, the capstat.duckdb snapshot or the CSV export of a filtered query.",
		rows, max, rows, max)
}
