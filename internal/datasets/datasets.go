// Package datasets is the single source of truth for capstat's public data
// contract: the datasets of a release, their columns, keys and descriptions
// (English and French). Transform models must produce these columns; the
// release writer, the dashboards and the query catalogue read descriptions
// from here so each definition is written once.
package datasets

import (
	_ "embed"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/capstat/capstat/internal/duckdbx"
)

// KeyChecksTable is the working-database table in which transform records,
// in the transaction that builds the tables, each dataset table whose
// primary key its data tests found unique and not null, with its row count,
// key sum (HashSumSQL of the key) and content sum (HashSumSQL of every
// catalogue column) at that moment (columns table_name, row_count, key_sum,
// content_sum). While the row count and key sum still match, publication
// relies on it instead of checking the key again, and takes the content sum
// as the table's fingerprint instead of hashing every row again. Whatever
// else rewrites a dataset table must delete its row here.
const KeyChecksTable = "meta.key_checks"

// HashSumSQL is the aggregate expression summing a hash of each row's
// values of cols: any change of those values (an update, a row added or
// removed) changes it, whatever the row order.
func HashSumSQL(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = duckdbx.Ident(c)
	}
	return "coalesce(sum(hash(" + strings.Join(q, ", ") + ")::HUGEINT), 0)::VARCHAR"
}

// KeyChecksDDL creates (or empties) KeyChecksTable.
const KeyChecksDDL = "CREATE SCHEMA IF NOT EXISTS meta; CREATE OR REPLACE TABLE " + KeyChecksTable +
	" (table_name VARCHAR PRIMARY KEY, row_count BIGINT NOT NULL, key_sum VARCHAR NOT NULL, content_sum VARCHAR NOT NULL)"

// RecordKeyCheckSQL is the statement that records in KeyChecksTable that
// d's primary key was found unique and not null in its table as it is now.
func (d *Dataset) RecordKeyCheckSQL() string {
	return fmt.Sprintf("INSERT INTO %s SELECT %s, count(*), %s, %s FROM %s",
		KeyChecksTable, duckdbx.Quote(d.Table), HashSumSQL(d.PrimaryKey), HashSumSQL(d.ColumnNames()), d.Table)
}

// ColumnNames returns the names of d's columns, in order.
func (d *Dataset) ColumnNames() []string {
	names := make([]string, len(d.Columns))
	for i, c := range d.Columns {
		names[i] = c.Name
	}
	return names
}

//go:embed datasets.yaml
var datasetsYAML []byte

// Contract lists the public datasets.
type Contract struct {
	Licence     string    `yaml:"licence"`
	Attribution string    `yaml:"attribution"`
	Datasets    []Dataset `yaml:"datasets"`
	// Enums are the allowed values of enumerated columns, by enum name.
	Enums map[string][]EnumValue `yaml:"enums"`
}

// EnumValue is one allowed value of an enum, with its French label.
type EnumValue struct {
	Value   string `yaml:"value"`
	LabelFR string `yaml:"label_fr"`
}

// Enum returns the allowed values of the named enum, in their declared
// order (nil for an unknown enum).
func (c *Contract) Enum(name string) []string {
	var out []string
	for _, v := range c.Enums[name] {
		out = append(out, v.Value)
	}
	return out
}

// Label returns the French label of value in the named enum, or value
// itself when it is not one of them.
func (c *Contract) Label(enum, value string) string {
	for _, v := range c.Enums[enum] {
		if v.Value == value {
			return v.LabelFR
		}
	}
	return value
}

// Dataset is one published table.
type Dataset struct {
	Name          string       `yaml:"name"`
	Table         string       `yaml:"table"` // schema.table in the working database
	Title         string       `yaml:"title"` // French title
	Description   string       `yaml:"description"`
	DescriptionFR string       `yaml:"description_fr"`
	PrimaryKey    []string     `yaml:"primary_key"`
	ForeignKeys   []ForeignKey `yaml:"foreign_keys"`
	Columns       []Column     `yaml:"columns"`
}

// ForeignKey says that Fields reference the primary key of dataset Reference.
type ForeignKey struct {
	Fields    []string `yaml:"fields"`
	Reference string   `yaml:"reference"`
}

// Column is one documented column.
type Column struct {
	Name          string `yaml:"name"`
	Type          string `yaml:"type"` // DuckDB type
	Description   string `yaml:"description"`
	DescriptionFR string `yaml:"description_fr"`
	// Enum names the catalogue enum the column's values belong to ("":
	// free values).
	Enum string `yaml:"enum,omitempty"`
}

// Load parses the embedded catalogue and checks its internal consistency.
func Load() (*Contract, error) {
	var c Contract
	if err := yaml.Unmarshal(datasetsYAML, &c); err != nil {
		return nil, fmt.Errorf("datasets: parse datasets.yaml: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	return &c, nil
}

// MustLoad is Load for callers that embed a catalogue known to be valid
// (tested in this package).
func MustLoad() *Contract {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// Dataset returns the dataset called name.
func (c *Contract) Dataset(name string) (*Dataset, bool) {
	for i := range c.Datasets {
		if c.Datasets[i].Name == name {
			return &c.Datasets[i], true
		}
	}
	return nil, false
}

// Column returns the column of a dataset, by names.
func (c *Contract) Column(dataset, column string) (*Column, bool) {
	d, ok := c.Dataset(dataset)
	if !ok {
		return nil, false
	}
	return d.Column(column)
}

// Column returns the column called name.
func (d *Dataset) Column(name string) (*Column, bool) {
	for i := range d.Columns {
		if d.Columns[i].Name == name {
			return &d.Columns[i], true
		}
	}
	return nil, false
}

var knownTypes = map[string]bool{
	"VARCHAR": true, "BIGINT": true, "INTEGER": true, "DOUBLE": true,
	"BOOLEAN": true, "TIMESTAMPTZ": true, "DATE": true,
}

func (c *Contract) validate() error {
	for name, vals := range c.Enums {
		seenValue := map[string]bool{}
		for _, v := range vals {
			if v.Value == "" || v.LabelFR == "" || seenValue[v.Value] {
				return fmt.Errorf("enum %s: value %q: values must be unique, non-empty and labelled", name, v.Value)
			}
			seenValue[v.Value] = true
		}
	}
	seen := map[string]bool{}
	for _, d := range c.Datasets {
		if d.Name == "" || d.Table == "" || d.Description == "" || d.DescriptionFR == "" {
			return fmt.Errorf("dataset %q: name, table and descriptions are required", d.Name)
		}
		if seen[d.Name] {
			return fmt.Errorf("dataset %q declared twice", d.Name)
		}
		seen[d.Name] = true
		cols := map[string]bool{}
		for _, col := range d.Columns {
			if cols[col.Name] {
				return fmt.Errorf("dataset %s: column %q declared twice", d.Name, col.Name)
			}
			cols[col.Name] = true
			if !knownTypes[col.Type] {
				return fmt.Errorf("dataset %s column %s: unknown type %q", d.Name, col.Name, col.Type)
			}
			if col.Description == "" || col.DescriptionFR == "" {
				return fmt.Errorf("dataset %s column %s: descriptions are required", d.Name, col.Name)
			}
			if col.Enum != "" && len(c.Enums[col.Enum]) == 0 {
				return fmt.Errorf("dataset %s column %s: unknown enum %q", d.Name, col.Name, col.Enum)
			}
		}
		for _, k := range d.PrimaryKey {
			if !cols[k] {
				return fmt.Errorf("dataset %s: primary key column %q is not a column", d.Name, k)
			}
		}
	}
	for _, d := range c.Datasets {
		for _, fk := range d.ForeignKeys {
			ref, ok := c.Dataset(fk.Reference)
			if !ok {
				return fmt.Errorf("dataset %s: foreign key to unknown dataset %q", d.Name, fk.Reference)
			}
			for _, f := range fk.Fields {
				if _, ok := d.Column(f); !ok {
					return fmt.Errorf("dataset %s: foreign key field %q is not a column", d.Name, f)
				}
				if _, ok := ref.Column(f); !ok {
					return fmt.Errorf("dataset %s: foreign key field %q is not a column of %s", d.Name, f, ref.Name)
				}
			}
		}
	}
	return nil
}
