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

	"github.com/capstat/capstat/internal/catalog"
	"github.com/capstat/capstat/internal/duckdbx"
)

const (
	manifestFile    = "manifest.json"
	changesFile     = "changes.json"
	datapackageFile = "datapackage.json"
	readmeFile      = "README.md"
	snapshotFile    = "capstat.duckdb"
)

// Manifest is manifest.json: every file of the release with its size, row
// count (data files only), SHA-256, dataset and format.
type Manifest struct {
	ReleaseID         string           `json:"release_id"`
	CreatedAt         time.Time        `json:"created_at"`
	PreviousReleaseID string           `json:"previous_release_id"` // "" for the first release
	Licence           string           `json:"licence"`
	Datasets          map[string]int64 `json:"datasets"` // rows per dataset
	// CSVMaxRows is the largest dataset written as CSV (the rows of one
	// spreadsheet); DatasetsWithoutCSV are the datasets above it, published
	// as Parquet (and in the snapshot) only.
	CSVMaxRows         int64    `json:"csv_max_rows"`
	DatasetsWithoutCSV []string `json:"datasets_without_csv"`
	// Fingerprints are per dataset a hash of its column names and types and
	// of its set of rows (in any order): the next release skips the diff of
	// a dataset whose fingerprint is unchanged.
	Fingerprints map[string]string `json:"fingerprints,omitempty"`
	Files        []FileEntry       `json:"files"`
}

// FileEntry is one file of a release. Path is relative to the release
// directory, with forward slashes.
type FileEntry struct {
	Path    string `json:"path"`
	Bytes   int64  `json:"bytes"`
	Rows    *int64 `json:"rows,omitempty"`
	SHA256  string `json:"sha256"`
	Dataset string `json:"dataset,omitempty"`
	Format  string `json:"format"` // parquet, csv, duckdb, json, markdown
}

// Changes is changes.json: per dataset, rows added, updated and removed
// since the previous release (matched on the primary key, compared on a
// hash of every column). Without a previous release every row is added.
type Changes struct {
	ReleaseID         string                    `json:"release_id"`
	PreviousReleaseID string                    `json:"previous_release_id"`
	Datasets          map[string]DatasetChanges `json:"datasets"`
}

// DatasetChanges counts the row changes of one dataset.
type DatasetChanges struct {
	Added   int64 `json:"added"`
	Updated int64 `json:"updated"`
	Removed int64 `json:"removed"`
}

// Zero reports whether nothing changed.
func (c Changes) Zero() bool {
	for _, d := range c.Datasets {
		if d != (DatasetChanges{}) {
			return false
		}
	}
	return true
}

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
func parquetKV(d *catalog.Dataset, releaseID, licence, skip string) (map[string]string, error) {
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

// datapackage types (Frictionless Data Package v1 with Table Schema).
type dataPackage struct {
	Profile     string     `json:"profile"`
	Name        string     `json:"name"`
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Version     string     `json:"version"`
	Created     string     `json:"created"`
	Licenses    []Licence  `json:"licenses"`
	Sources     []dpSource `json:"sources"`
	Resources   []resource `json:"resources"`
}

type dpSource struct {
	Title string `json:"title"`
	Path  string `json:"path,omitempty"`
}

type resource struct {
	Name        string       `json:"name"`
	Profile     string       `json:"profile"`
	Path        any          `json:"path"` // string or []string
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	Format      string       `json:"format"`
	Mediatype   string       `json:"mediatype"`
	Encoding    string       `json:"encoding,omitempty"`
	Bytes       int64        `json:"bytes,omitempty"`
	Hash        string       `json:"hash,omitempty"`
	Dialect     *dialect     `json:"dialect,omitempty"`
	Schema      *tableSchema `json:"schema"`
}

type dialect struct {
	Delimiter      string `json:"delimiter"`
	DoubleQuote    bool   `json:"doubleQuote"`
	LineTerminator string `json:"lineTerminator"`
	QuoteChar      string `json:"quoteChar"`
	Header         bool   `json:"header"`
}

type tableSchema struct {
	Fields        []field      `json:"fields"`
	PrimaryKey    []string     `json:"primaryKey,omitempty"`
	ForeignKeys   []foreignKey `json:"foreignKeys,omitempty"`
	MissingValues []string     `json:"missingValues"`
}

type field struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	Format        string `json:"format,omitempty"`
	Description   string `json:"description"`
	DescriptionFR string `json:"description_fr"`
}

type foreignKey struct {
	Fields    []string `json:"fields"`
	Reference fkRef    `json:"reference"`
}

type fkRef struct {
	Resource string   `json:"resource"`
	Fields   []string `json:"fields"`
}

// buildDataPackage renders datapackage.json. Each dataset is a
// tabular-data-resource on its CSV file (named like the dataset, target of
// the foreign keys) plus a data-resource "<dataset>-parquet" listing its
// Parquet files with the same schema.
func buildDataPackage(cat *catalog.Catalog, m *Manifest, lic Licence, sources []SourceInfo) (*dataPackage, error) {
	dp := &dataPackage{
		Profile:     "tabular-data-package",
		Name:        "capstat",
		ID:          "capstat-" + m.ReleaseID,
		Title:       "Capstat : participation citoyenne et budgets participatifs (Cap Collectif)",
		Description: "Données ouvertes des plateformes Cap Collectif (projets, propositions, votes, contributions, indicateurs de budgets participatifs). " + cat.Attribution + " / Open data from Cap Collectif platforms. See README.md.",
		Version:     m.ReleaseID,
		Created:     m.CreatedAt.UTC().Format(time.RFC3339),
		Licenses:    []Licence{lic},
		Sources:     []dpSource{},
	}
	for _, s := range sources {
		dp.Sources = append(dp.Sources, dpSource{Title: s.Name, Path: s.Endpoint})
	}
	byDataset := map[string][]FileEntry{}
	for _, f := range m.Files {
		if f.Dataset != "" {
			byDataset[f.Dataset] = append(byDataset[f.Dataset], f)
		}
	}
	for i := range cat.Datasets {
		d := &cat.Datasets[i]
		ts := &tableSchema{PrimaryKey: d.PrimaryKey, MissingValues: []string{""}}
		for _, c := range d.Columns {
			t, err := frictionlessType(c.Type)
			if err != nil {
				return nil, fmt.Errorf("dataset %s column %s: %w", d.Name, c.Name, err)
			}
			f := field{Name: c.Name, Type: t, Description: c.Description, DescriptionFR: c.DescriptionFR}
			if t == "datetime" {
				f.Format = "%Y-%m-%dT%H:%M:%SZ"
			}
			ts.Fields = append(ts.Fields, f)
		}
		for _, fk := range d.ForeignKeys {
			ts.ForeignKeys = append(ts.ForeignKeys, foreignKey{Fields: fk.Fields, Reference: fkRef{Resource: fk.Reference, Fields: fk.Fields}})
		}
		var parquet []string
		for _, f := range byDataset[d.Name] {
			switch f.Format {
			case "csv":
				dp.Resources = append(dp.Resources, resource{
					Name: d.Name, Profile: "tabular-data-resource", Path: f.Path,
					Title: d.Title, Description: d.Description + " / " + d.DescriptionFR,
					Format: "csv", Mediatype: "text/csv", Encoding: "utf-8",
					Bytes: f.Bytes, Hash: "sha256:" + f.SHA256,
					Dialect: &dialect{Delimiter: ",", DoubleQuote: true, LineTerminator: "\r\n", QuoteChar: `"`, Header: true},
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
			r := resource{
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
