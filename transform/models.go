package transform

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

//go:embed models/*/*.sql
var modelFiles embed.FS

//go:embed tests/*.sql
var testFiles embed.FS

// layers lists the model schemas in build order; a model may only read
// models of its own layer or an earlier one (and raw.*).
var layerOrder = map[string]int{"staging": 0, "core": 1, "intermediate": 2, "metrics": 3}

// Model is one embedded SQL model: models/<schema>/<table>.sql holds the
// SELECT that builds table <schema>.<table>.
type Model struct {
	Name string   // schema.table
	Doc  string   // header comment, without the "--" markers
	SQL  string   // the SELECT
	Deps []string // models (or seeds) read by this one, sorted
}

// refRE finds schema-qualified names in SQL.
var refRE = regexp.MustCompile(`\b(raw|staging|core|intermediate|metrics)\.([A-Za-z_][A-Za-z0-9_]*)\b`)

// headerDoc returns the leading "--" comment block of a SQL file.
func headerDoc(sql string) string {
	var doc []string
	for _, line := range strings.Split(sql, "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "--") {
			break
		}
		doc = append(doc, strings.TrimSpace(strings.TrimPrefix(t, "--")))
	}
	return strings.TrimSpace(strings.Join(doc, "\n"))
}

// Models loads the embedded models, resolves their dependencies and returns
// them in a valid build order. known lists the tables and macros created
// before the models (seeds); raw.* names are external inputs.
func Models(known []string) ([]Model, error) {
	files, err := fs.Glob(modelFiles, "models/*/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	byName := map[string]*Model{}
	var all []*Model
	for _, f := range files {
		b, err := modelFiles.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read model %s: %w", f, err)
		}
		schema := path.Base(path.Dir(f))
		if _, ok := layerOrder[schema]; !ok {
			return nil, fmt.Errorf("model %s: unknown layer %q", f, schema)
		}
		m := &Model{Name: schema + "." + strings.TrimSuffix(path.Base(f), ".sql"), SQL: string(b), Doc: headerDoc(string(b))}
		if m.Doc == "" {
			return nil, fmt.Errorf("model %s: missing header comment", m.Name)
		}
		byName[m.Name] = m
		all = append(all, m)
	}
	isKnown := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	for _, m := range all {
		deps := map[string]bool{}
		for _, match := range refRE.FindAllStringSubmatch(stripLineComments(m.SQL), -1) {
			deps[match[1]+"."+match[2]] = true
		}
		for _, line := range strings.Split(m.SQL, "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "-- depends:"); ok {
				for _, d := range strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ' ' }) {
					deps[d] = true
				}
			}
		}
		delete(deps, m.Name)
		for d := range deps {
			schema, _, _ := strings.Cut(d, ".")
			switch {
			case schema == "raw" || isKnown[d]:
				continue
			case byName[d] == nil:
				return nil, fmt.Errorf("model %s reads %s, which is no model", m.Name, d)
			case layerOrder[schema] > layerOrder[strings.Split(m.Name, ".")[0]]:
				return nil, fmt.Errorf("model %s reads %s from a later layer", m.Name, d)
			}
			m.Deps = append(m.Deps, d)
		}
		sort.Strings(m.Deps)
	}
	return topoSort(all, byName)
}

// topoSort orders models so that each comes after its dependencies;
// among ready models it keeps layer then name order (deterministic).
func topoSort(all []*Model, byName map[string]*Model) ([]Model, error) {
	indeg := map[string]int{}
	users := map[string][]string{}
	for _, m := range all {
		for _, d := range m.Deps {
			if byName[d] != nil {
				indeg[m.Name]++
				users[d] = append(users[d], m.Name)
			}
		}
	}
	less := func(a, b string) int {
		la, lb := layerOrder[strings.Split(a, ".")[0]], layerOrder[strings.Split(b, ".")[0]]
		if la != lb {
			return la - lb
		}
		return strings.Compare(a, b)
	}
	var ready []string
	for _, m := range all {
		if indeg[m.Name] == 0 {
			ready = append(ready, m.Name)
		}
	}
	var out []Model
	for len(ready) > 0 {
		slices.SortFunc(ready, less)
		n := ready[0]
		ready = ready[1:]
		out = append(out, *byName[n])
		for _, u := range users[n] {
			indeg[u]--
			if indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(out) != len(all) {
		var stuck []string
		for _, m := range all {
			if indeg[m.Name] > 0 {
				stuck = append(stuck, m.Name)
			}
		}
		sort.Strings(stuck)
		return nil, fmt.Errorf("dependency cycle among models %s", strings.Join(stuck, ", "))
	}
	return out, nil
}

func stripLineComments(sql string) string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// SQLTest is one embedded data test: tests/<name>.sql selects the
// offending rows (none = pass).
type SQLTest struct {
	Name string
	Doc  string
	SQL  string
}

// SQLTests loads the embedded SQL data tests, sorted by name.
func SQLTests() ([]SQLTest, error) {
	files, err := fs.Glob(testFiles, "tests/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list data tests: %w", err)
	}
	var out []SQLTest
	for _, f := range files {
		b, err := testFiles.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read data test %s: %w", f, err)
		}
		t := SQLTest{Name: strings.TrimSuffix(path.Base(f), ".sql"), SQL: string(b), Doc: headerDoc(string(b))}
		if t.Doc == "" {
			return nil, fmt.Errorf("data test %s: missing header comment", t.Name)
		}
		out = append(out, t)
	}
	return out, nil
}
