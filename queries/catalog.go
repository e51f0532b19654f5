// Package queries serves capstat's published data to journalists: a
// catalogue of named, documented SQL queries (queries/catalog/*.sql, embedded)
// with typed parameters, and guarded ad-hoc SQL, both run against the
// read-only DuckDB snapshot of the current release (DIR/latest/capstat.duckdb).
//
// Results are written as a text table, CSV, JSON or Parquet. Canned queries
// stream full results in CSV and Parquet; JSON answers carry a row limit and
// say when they were truncated. Ad-hoc SQL is limited to one read-only
// statement, checked by DuckDB's own parser, and runs on a connection with
// external access disabled, bounded memory, threads and time, and a locked
// configuration. The package never writes to the snapshot.
package queries

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/capstat/capstat/internal/datasets"
)

//go:embed catalog/*.sql
var catalogFS embed.FS

// Param types accepted in the catalogue's front matter.
const (
	TypeString = "string"
	TypeInt    = "int"
	TypeFloat  = "float"
	TypeDate   = "date"
	TypeBool   = "bool"
)

// Catalog is the set of canned queries.
type Catalog struct {
	queries []*Query
	byName  map[string]*Query
}

// Query is one canned, documented query.
type Query struct {
	Name        string  `json:"name"`
	Title       string  `json:"title"`       // French
	Description string  `json:"description"` // French
	Params      []Param `json:"params"`
	Example     string  `json:"example,omitempty"` // query string of an example call, e.g. "project=p1"
	SQL         string  `json:"sql"`
}

// Param is one typed parameter of a canned query, bound as a named
// prepared-statement parameter ($name) and never interpolated.
type Param struct {
	Name        string `json:"name" yaml:"name"`
	Type        string `json:"type" yaml:"type"` // string|int|float|date|bool
	Description string `json:"description" yaml:"description"`
	Default     any    `json:"default,omitempty" yaml:"default"`
	Required    bool   `json:"required,omitempty" yaml:"required"`
	// Enum names the catalogue enum (internal/datasets datasets.yaml) the
	// value must belong to; Values are its values, resolved at load.
	Enum   string   `json:"-" yaml:"enum"`
	Values []string `json:"values,omitempty" yaml:"-"`
}

type frontMatter struct {
	Title       string  `yaml:"title"`
	Description string  `yaml:"description"`
	Params      []Param `yaml:"params"`
	Example     string  `yaml:"example"`
}

var (
	paramRefRE = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)`)
	nameRE     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// LoadCatalog parses the embedded catalogue and checks every query.
func LoadCatalog() (*Catalog, error) {
	sub, err := fs.Sub(catalogFS, "catalog")
	if err != nil {
		return nil, fmt.Errorf("load query catalogue: %w", err)
	}
	return LoadCatalogFS(sub)
}

// LoadCatalogFS parses every *.sql file at the root of fsys.
func LoadCatalogFS(fsys fs.FS) (*Catalog, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("load query catalogue: %w", err)
	}
	c := &Catalog{byName: map[string]*Query{}}
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("load query %s: %w", n, err)
		}
		q, err := ParseQuery(strings.TrimSuffix(path.Base(n), ".sql"), b)
		if err != nil {
			return nil, err
		}
		c.queries = append(c.queries, q)
		c.byName[q.Name] = q
	}
	sort.Slice(c.queries, func(i, j int) bool { return c.queries[i].Name < c.queries[j].Name })
	return c, nil
}

// Queries returns the queries sorted by name.
func (c *Catalog) Queries() []*Query { return c.queries }

// Query returns the query called name.
func (c *Catalog) Query(name string) (*Query, bool) {
	q, ok := c.byName[name]
	return q, ok
}

// ParseQuery parses one catalogue file: a front matter block
// "/* ---\n<yaml>\n--- */" followed by one SQL statement.
func ParseQuery(name string, src []byte) (*Query, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("query %s: %s", name, fmt.Sprintf(format, args...))
	}
	if !nameRE.MatchString(name) {
		return nil, fail("invalid name (want [a-z][a-z0-9_]*)")
	}
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	const open, closing = "/* ---\n", "\n--- */"
	if !bytes.HasPrefix(src, []byte(open)) {
		return nil, fail("missing front matter (file must start with %q)", open)
	}
	rest := src[len(open):]
	end := bytes.Index(rest, []byte(closing))
	if end < 0 {
		return nil, fail("unterminated front matter (want %q)", closing)
	}
	var fm frontMatter
	dec := yaml.NewDecoder(bytes.NewReader(rest[:end]))
	dec.KnownFields(true)
	if err := dec.Decode(&fm); err != nil {
		return nil, fail("front matter: %v", err)
	}
	sqlText := strings.TrimSpace(string(rest[end+len(closing):]))
	sqlText = strings.TrimSpace(strings.TrimRight(sqlText, "; \n\t"))
	q := &Query{Name: name, Title: fm.Title, Description: fm.Description, Params: fm.Params, Example: fm.Example, SQL: sqlText}
	if q.Title == "" || q.Description == "" {
		return nil, fail("title and description are required")
	}
	if q.SQL == "" {
		return nil, fail("empty SQL")
	}
	declared := map[string]bool{}
	for i := range q.Params {
		p := &q.Params[i]
		if !nameRE.MatchString(p.Name) {
			return nil, fail("parameter %q: invalid name", p.Name)
		}
		if declared[p.Name] {
			return nil, fail("parameter %q declared twice", p.Name)
		}
		declared[p.Name] = true
		if p.Description == "" {
			return nil, fail("parameter %q: description required", p.Name)
		}
		if p.Enum != "" {
			cat, err := datasets.Load() // the data contract, where enums are declared
			if err != nil {
				return nil, fail("parameter %q: %v", p.Name, err)
			}
			if p.Values = cat.Enum(p.Enum); len(p.Values) == 0 {
				return nil, fail("parameter %q: unknown enum %q (internal/datasets/datasets.yaml)", p.Name, p.Enum)
			}
		}
		if p.Default != nil {
			v, err := p.parse(fmt.Sprint(p.Default))
			if err != nil {
				return nil, fail("parameter %q: default: %v", p.Name, err)
			}
			p.Default = v
		} else if _, err := p.parse(""); err != nil && err != errEmpty {
			return nil, fail("parameter %q: %v", p.Name, err)
		}
	}
	used := map[string]bool{}
	for _, m := range paramRefRE.FindAllStringSubmatch(q.SQL, -1) {
		used[m[1]] = true
		if !declared[m[1]] {
			return nil, fail("SQL uses undeclared parameter $%s", m[1])
		}
	}
	for n := range declared {
		if !used[n] {
			return nil, fail("parameter %q is declared but not used in the SQL", n)
		}
	}
	return q, nil
}

var errEmpty = fmt.Errorf("empty value")

// parse converts a query-string value to the parameter's Go type.
func (p *Param) parse(s string) (any, error) {
	switch p.Type {
	case TypeString:
		if s == "" {
			return nil, errEmpty
		}
		return s, nil
	case TypeInt:
		if s == "" {
			return nil, errEmpty
		}
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q n'est pas un entier", s)
		}
		return v, nil
	case TypeFloat:
		if s == "" {
			return nil, errEmpty
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("%q n'est pas un nombre", s)
		}
		return v, nil
	case TypeDate:
		if s == "" {
			return nil, errEmpty
		}
		v, err := time.Parse("2006-01-02", strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q n'est pas une date AAAA-MM-JJ", s)
		}
		return v.Format("2006-01-02"), nil
	case TypeBool:
		if s == "" {
			return nil, errEmpty
		}
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1", "yes", "oui", "vrai":
			return true, nil
		case "false", "0", "no", "non", "faux":
			return false, nil
		}
		return nil, fmt.Errorf("%q n'est pas un booléen (true/false)", s)
	}
	return nil, fmt.Errorf("unknown type %q", p.Type)
}

// Bind validates params against the query's declared parameters and returns
// the typed values by name (nil for an absent optional parameter without a
// default). Unknown names, missing required values and bad types are
// *Error values with code "invalid_parameter".
func (q *Query) Bind(params map[string]string) (map[string]any, error) {
	out := make(map[string]any, len(q.Params))
	known := map[string]*Param{}
	for i := range q.Params {
		known[q.Params[i].Name] = &q.Params[i]
	}
	for k := range params {
		if _, ok := known[k]; !ok {
			names := make([]string, 0, len(q.Params))
			for _, p := range q.Params {
				names = append(names, p.Name)
			}
			return nil, errorf(CodeInvalidParameter, "paramètre inconnu %q pour la requête %s (paramètres acceptés : %s)", k, q.Name, strings.Join(names, ", "))
		}
	}
	for _, p := range q.Params {
		s, given := params[p.Name]
		if !given || s == "" {
			if p.Required {
				return nil, errorf(CodeInvalidParameter, "paramètre %q obligatoire pour la requête %s", p.Name, q.Name)
			}
			out[p.Name] = p.Default
			continue
		}
		v, err := p.parse(s)
		if err != nil {
			return nil, errorf(CodeInvalidParameter, "paramètre %q (%s) : %v", p.Name, p.Type, err)
		}
		if len(p.Values) > 0 && !slices.Contains(p.Values, s) {
			return nil, errorf(CodeInvalidParameter, "valeur %q inconnue pour le paramètre %q de la requête %s (valeurs acceptées : %s)", s, p.Name, q.Name, strings.Join(p.Values, ", "))
		}
		out[p.Name] = v
	}
	return out, nil
}

// ParseParamArgs turns command-line arguments "name=value" (as given to
// `capstat query NAME k=v …`) into Run's parameter map.
func ParseParamArgs(args []string) (map[string]string, error) {
	out := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, errorf(CodeInvalidParameter, "paramètre %q : forme attendue nom=valeur", a)
		}
		if _, dup := out[k]; dup {
			return nil, errorf(CodeInvalidParameter, "paramètre %q donné deux fois", k)
		}
		out[k] = v
	}
	return out, nil
}
